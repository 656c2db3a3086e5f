#include <stdint.h>
#include <stdbool.h>
#include "gemmini.h"

typedef struct gemm_Context gemm_Context;

// gemm_64x64x64(
//     scale : f32 @DRAM,
//     act : bool,
//     A : i8[64, 64] @DRAM,
//     B : i8[64, 64] @DRAM,
//     C : i8[64, 64] @DRAM
// )
void gemm_64x64x64( gemm_Context *ctxt, const float* scale, bool act, const int8_t* A, const int8_t* B, int8_t* C ) {
  gemmini_extended_config_st(64, act, scale[0]);
  gemmini_extended_config_ex(WS, 0, 0, 1, 0, 0);
  gemmini_extended3_config_ld(64, 1.0f, 0, 2);
  gemmini_extended3_config_ld(64, 1.0f, 0, 1);
  gemmini_extended3_config_ld(0, 1.0f, 0, 0);
  for (int_fast32_t i = 0; i < 4; i++) {
    for (int_fast32_t j = 0; j < 1; j++) {
      uint32_t res = 0x80000000;
      for (int_fast32_t j_in_o = 0; j_in_o < 4; j_in_o++) {
        gemmini_extended_mvin(0, res + 16 * j_in_o, 16, 16);
      }
      uint32_t a = 0;
      uint32_t b = 64;
      for (int_fast32_t ko = 0; ko < 1; ko++) {
        gemmini_extended_mvin2(&A[1024 * i + 64 * ko], a + 64 * ko, 64, 16);
        for (int_fast32_t k = 0; k < 4; k++) {
          gemmini_extended_mvin3(&B[64 * j + 1024 * k + 4096 * ko], b + 64 * k + 256 * ko, 64, 16);
        }
        for (int_fast32_t k = 0; k < 4; k++) {
          for (int_fast32_t j_in_o = 0; j_in_o < 4; j_in_o++) {
            gemmini_extended_preload(b + 16 * j_in_o + 64 * k + 256 * ko, (res + 16 * j_in_o) | 0x40000000, 16, 16, 16, 16);
            gemmini_extended_compute_preloaded(a + 16 * k + 64 * ko, ~((uint32_t)0), 16, 16, 16, 16);
          }
        }
      }
      for (int_fast32_t j_in_o = 0; j_in_o < 4; j_in_o++) {
        gemmini_extended_mvout(&C[1024 * i + 64 * j + 16 * j_in_o], res + 16 * j_in_o, 16, 16);
      }
    }
  }
}
