void gemm_64x64x64(gemm_Context *ctxt, const float* scale, bool act, const int8_t A[64][64], const int8_t B[64][64], int8_t C[64][64]) {
  config_st(64, act, *scale);
  config_ex(WEIGHT_STATIONARY, 0, 1, 0, 0);
  config_ld(64, 1.0f, 2);
  config_ld(64, 1.0f, 1);
  config_ld(0, 1.0f, 0);
  for (int i = 0; i < 4; i++) {
    for (int j = 0; j < 1; j++) {
      uint32_t res = 0x80000000;
      for (int j_in_o = 0; j_in_o < 4; j_in_o++) {
        mvin(0, res + 16 * j_in_o, 16, 16);
      }
      uint32_t a = 0;
      uint32_t b = 64;
      for (int ko = 0; ko < 1; ko++) {
        mvin2(&A[ko + 16 * i][0], a + 64 * ko, 64, 16);
        for (int k = 0; k < 4; k++) {
          mvin3(&B[j + 16 * k + 64 * ko][0], b + 64 * k + 256 * ko, 64, 16);
        }
        for (int k = 0; k < 4; k++) {
          for (int j_in_o = 0; j_in_o < 4; j_in_o++) {
            preload(b + 16 * j_in_o + 64 * k + 256 * ko, (res + 16 * j_in_o) | 0x40000000, 16, 16, 16, 16);
            compute_preloaded(a + 16 * k + 64 * ko, ~((uint32_t)0), 16, 16, 16, 16);
          }
        }
      }
      for (int j_in_o = 0; j_in_o < 4; j_in_o++) {
        mvout(&C[j + 16 * i][16 * j_in_o], res + 16 * j_in_o, 16, 16);
      }
    }
  }
}
