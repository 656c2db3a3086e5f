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
    for (int_fast32_t j = 0; j < 4; j++) {
      for (int_fast32_t k = 0; k < 4; k++) {
        gemmini_extended_mvin(&A[(16 * i) * 256 + 64 * j + 16 * k], ((i * 4 + j) % 8) * 64 + 16 * k, 16, 16);
      }
      for (int_fast32_t k = 0; k < 4; k++) {
        gemmini_extended_mvout(&C[(16 * i) * 256 + 64 * j + 16 * k], ((i * 4 + j) % 8) * 64 + 16 * k, 16, 16);
      }
    }
  }
}
