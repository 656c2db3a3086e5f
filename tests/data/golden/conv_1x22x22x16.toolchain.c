#include <stdint.h>
#include <stdbool.h>
#include "gemmini.h"

typedef struct conv_Context conv_Context;

// conv_1x22x22x16(
//     output : i8[1, 20, 20, 16] @DRAM,
//     bias : i32[1, 16] @DRAM,
//     inp : i8[1, 22, 22, 16] @DRAM,
//     weights : i8[3, 3, 16, 16] @DRAM,
//     act : bool,
//     scale : f32 @DRAM
// )
void conv_1x22x22x16( conv_Context *ctxt, int8_t* output, const int32_t* bias, const int8_t* inp, const int8_t* weights, bool act, const float* scale ) {
  gemmini_extended_config_st(16, act, scale[0]);
  gemmini_extended_config_ex(WS, 0, 0, 1, 0, 0);
  gemmini_extended3_config_ld(16, 1.0f, 0, 1);
  gemmini_extended3_config_ld(0, 1.0f, 0, 0);
  for (int_fast32_t b = 0; b < 1; b++) {
    for (int_fast32_t orow = 0; orow < 20; orow++) {
      for (int_fast32_t ocol_o = 0; ocol_o < 1; ocol_o++) {
        uint32_t res = 0x80000000;
        for (int_fast32_t och_o = 0; och_o < 1; och_o++) {
          gemmini_extended_mvin(&bias[16 * och_o], res + 16 * och_o, 16, 16);
        }
        for (int_fast32_t krow = 0; krow < 3; krow++) {
          uint32_t i_s = 0;
          for (int_fast32_t kcol = 0; kcol < 3; kcol++) {
            uint32_t w_s = 48;
            for (int_fast32_t kch_o = 0; kch_o < 1; kch_o++) {
              gemmini_extended_mvin2(&weights[256 * kch_o + 256 * kcol + 768 * krow], w_s + 16 * kch_o, 16, 16);
            }
            gemmini_extended4_config_ld(16, 1.0f, 0, 16, 2);
            gemmini_extended_mvin3(&inp[7744 * b + 16 * kcol + 352 * krow + 256 * ocol_o + 352 * orow], i_s + 16 * kcol, 16, 16);
            for (int_fast32_t kch_o = 0; kch_o < 1; kch_o++) {
              for (int_fast32_t och_o = 0; och_o < 1; och_o++) {
                gemmini_extended_preload(w_s + 16 * kch_o + 16 * och_o, (res + 16 * och_o) | 0x40000000, 16, 16, 16, 16);
                gemmini_extended_compute_preloaded(i_s + 16 * kch_o + 16 * kcol, ~((uint32_t)0), 16, 16, 16, 16);
              }
            }
          }
        }
        for (int_fast32_t och_o = 0; och_o < 1; och_o++) {
          gemmini_extended_mvout(&output[6400 * b + 16 * och_o + 256 * ocol_o + 320 * orow], res + 16 * och_o, 16, 16);
        }
      }
      uint32_t res = 0x80000000;
      for (int_fast32_t och_o = 0; och_o < 1; och_o++) {
        gemmini_extended_mvin(&bias[16 * och_o], res + 5 * och_o, 16, 4);
      }
      for (int_fast32_t krow = 0; krow < 3; krow++) {
        uint32_t i_s = 0;
        for (int_fast32_t kcol = 0; kcol < 3; kcol++) {
          uint32_t w_s = 48;
          for (int_fast32_t kch_o = 0; kch_o < 1; kch_o++) {
            gemmini_extended_mvin2(&weights[256 * kch_o + 256 * kcol + 768 * krow], w_s + 16 * kch_o, 16, 16);
          }
          gemmini_extended4_config_ld(16, 1.0f, 0, 4, 2);
          gemmini_extended_mvin3(&inp[7744 * b + 16 * kcol + 352 * krow + 352 * orow + 256], i_s + 4 * kcol, 16, 4);
          for (int_fast32_t kch_o = 0; kch_o < 1; kch_o++) {
            for (int_fast32_t och_o = 0; och_o < 1; och_o++) {
              gemmini_extended_preload(w_s + 16 * kch_o + 16 * och_o, (res + 5 * och_o) | 0x40000000, 16, 16, 16, 4);
              gemmini_extended_compute_preloaded(i_s + 4 * kch_o + 4 * kcol, ~((uint32_t)0), 16, 4, 16, 16);
            }
          }
        }
      }
      for (int_fast32_t och_o = 0; och_o < 1; och_o++) {
        gemmini_extended_mvout(&output[6400 * b + 16 * och_o + 320 * orow + 256], res + 5 * och_o, 16, 4);
      }
    }
  }
}
