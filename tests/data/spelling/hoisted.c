#include <stdint.h>
#include <stdbool.h>
#include "gemmini.h"

// copy(
//     A : i8[256, 256] @DRAM,
//     C : i8[256, 256] @DRAM
// )
void copy(const int8_t* A, int8_t* C) {
  gemmini_extended3_config_ld(256, 1.0f, 0, 0);
  gemmini_extended_config_st(256, 0, 1.0f);
  for (int_fast32_t i = 0; i < 16; i++) {
    int32_t a = 4096 * i;
    for (int_fast32_t j = 0; j < 4; j++) {
      uint32_t s = ((i * 4 + j) % 8) * 64;
      for (int_fast32_t k = 0; k < 4; k++) {
        gemmini_extended_mvin(&A[a], s, 16, 16);
        a += 16;
        s += 16;
      }
      a -= 64;
      s -= 64;
      for (int_fast32_t k = 0; k < 4; k++) {
        gemmini_extended_mvout(&C[a], s, 16, 16);
        a += 16;
        s += 16;
      }
    }
  }
}
