void gemm_64x64x64(gemm_Context *ctxt, const float* scale, bool act, const int8_t A[64][64], const int8_t B[64][64], int8_t C[64][64]) {
  config_st(64, act, *scale);
  config_ex(WEIGHT_STATIONARY, 0, 1, 0, 0);
  config_ld(64, 1.0f, 2);
  config_ld(64, 1.0f, 1);
  config_ld(0, 1.0f, 0);
  uint32_t a = 0;
  uint32_t b = 4096;
  uint32_t acc = 0x80000000;
  for (int k = 0; k < 4; k++) {
    mvin3(&B[16 * k][0], b + 64 * k, 64, 16);
  }
  for (int i = 0; i < 4; i++) {
    for (int j = 0; j < 4; j++) {
      mvin(0, acc + 64 * i + 16 * j, 16, 16);
    }
    mvin2(&A[16 * i][0], a + 64 * i, 64, 16);
    for (int k = 0; k < 4; k++) {
      for (int j = 0; j < 4; j++) {
        preload(b + 64 * k + 16 * j, (acc + 64 * i + 16 * j) | 0x40000000, 16, 16, 16, 16);
        compute_preloaded(a + 64 * i + 16 * k, ~((uint32_t)0), 16, 16, 16, 16);
      }
    }
    for (int j = 0; j < 4; j++) {
      mvout(&C[16 * i][16 * j], acc + 64 * i + 16 * j, 16, 16);
    }
  }
  fence();
}
