void gemm_32(int8_t A[32][32], int8_t B[32][32], int8_t C[32][32]) {
  config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 1, false, false);
  config_st(32);
  config_ld(32, 1.0f, 16, 0);
  uint32_t a_sp = 0;            /* two 16x16 A blocks, rows 0..31   */
  uint32_t b_sp = 32;           /* two 16x16 B blocks, rows 32..63  */
  uint32_t acc = 1u << 31;      /* one 16x16 accumulator block      */
  for (int i = 0; i < 2; i++) {
    for (int j = 0; j < 2; j++) {
      mvin(0, acc, 16, 16);                              /* zero the block */
      for (int k = 0; k < 2; k++) {
        mvin(&A[16 * i][16 * k], a_sp + 16 * k, 16, 16);
        mvin(&B[16 * k][16 * j], b_sp + 16 * k, 16, 16);
        preload(b_sp + 16 * k, acc | (1u << 30), 16, 16, 16, 16);
        compute_preloaded(a_sp + 16 * k, ~((uint32_t)0), 16, 16, 16, 16);
      }
      mvout(&C[16 * i][16 * j], acc, 16, 16);
    }
  }
  fence();
}
