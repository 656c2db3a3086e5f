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
    for (int_fast32_t jk = 0; jk < 16; jk++) {
      gemmini_extended_mvin(&A[(16 * i) * 256 + 16 * jk], (16 * i + jk) * 16, 16, 16);
    }
  }
  for (int_fast32_t t = 0; t < 256; t++) {
    gemmini_extended_mvout(&C[(16 * (t / 16)) * 256 + 16 * (t % 16)], 16 * t, 16, 16);
  }
}
