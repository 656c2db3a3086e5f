/* Hand-written compact twin of Exo's gemm_64x64x64 (tests/data/exo_c/gemm_64x64x64.c).
   Quotes ' " and braces { } in a comment must not confuse the parser. */
#define UNUSED_MACRO(x) \
    do { (x); } while (0)

void gemm_64x64x64(gemm_Context *ctxt, const float* scale, bool act,
                   const int8_t A[64][64], const int8_t B[64][64], int8_t C[64][64]) {
  config_st(64, act, *scale);                // scale read through the pointer
  config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 1, false, false);
  config_ld(0x40, 1.0f, 2);
  config_ld(64, 1.0, 1);
  config_ld(0, 1.0f, 0);
  for (int i = 0; i < 4; ++i) {
    for (int_fast32_t j = 0; j <= 0; j += 1) {
      uint32_t res = 1u << 31;  /* one accumulator allocation: row 0 */
      for (size_t j_in_o = 0; j_in_o < 4; j_in_o++)
        mvin(0, res + j_in_o * 16, 16, 16);
      uint32_t a = gemm_malloc(16 * 16 * 4);
      uint32_t b = 64;
      for (int ko = 0; ko < 1; ko = ko + 1) {
        mvin2(&A[16 * i][64 * ko], a + ko * 64, 16 * 4, 16);
        for (int k = 0; k < 4; k++) {
          mvin3(&B[16 * k + 64 * ko][64 * j], b + (ko * 4096 + k * 1024) / 16, 64, 16);
        }
        for (int k = 0; k < 4; k++) {
          for (int j_in_o = 0; j_in_o < 4; j_in_o++) {
            preload(b + ko * 256 + k * 64 + j_in_o * 16, (res + 16 * j_in_o) | (1u << 30),
                    16, 16, 16, 16);
            compute_preloaded(a + 64 * ko + 16 * k, ~((uint32_t)0), 16, 16, 16, 16);
          }
        }
      }
      gemm_free(a);
      for (int j_in_o = 0; j_in_o < 4; j_in_o++) {
        mvout(&C[16 * i][16 * j_in_o + 64 * j], res + 16 * j_in_o, 16, 16);
      }
    }
  }
}
