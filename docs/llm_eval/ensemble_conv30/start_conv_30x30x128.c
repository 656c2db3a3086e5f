#include <stdint.h>
#include <stdbool.h>
#include "gemmini.h"

typedef struct conv_Context conv_Context;

// conv_30x30x128(
//     output : i8[4, 28, 28, 128] @DRAM,
//     bias : i32[1, 128] @DRAM,
//     inp : i8[4, 30, 30, 128] @DRAM,
//     weights : i8[3, 3, 128, 128] @DRAM,
//     act : bool,
//     scale : f32 @DRAM
// )
void conv_30x30x128( conv_Context *ctxt, int8_t* output, const int32_t* bias, const int8_t* inp, const int8_t* weights, bool act, const float* scale ) {
  gemmini_extended_config_st(128, act, scale[0]);
  gemmini_extended_config_ex(WS, 0, 0, 1, 0, 0);
  gemmini_extended3_config_ld(128, 1.0f, 0, 1);
  gemmini_extended3_config_ld(0, 1.0f, 0, 0);
  for (int_fast32_t b = 0; b < 4; b++) {
    for (int_fast32_t krow = 0; krow < 3; krow++) {
      for (int_fast32_t kcol = 0; kcol < 3; kcol++) {
        if (b == 0) {
          for (int_fast32_t kch_o = 0; kch_o < 8; kch_o++) {
            for (int_fast32_t och_o_o = 0; och_o_o < 2; och_o_o++) {
              gemmini_extended_mvin2(&weights[2048 * kch_o + 16384 * kcol + 49152 * krow + 64 * och_o_o], 128 * kch_o + 1024 * kcol + 3072 * krow + 64 * och_o_o + 1408, 64, 16);
            }
          }
        }
        for (int_fast32_t kch_o_o = 0; kch_o_o < 2; kch_o_o++) {
          gemmini_extended4_config_ld(128, 1.0f, 0, 16, 2);
          gemmini_extended_mvin3(&inp[115200 * b + 64 * kch_o_o + 128 * kcol + 3840 * krow], 64 * kch_o_o + 128 * kcol + 384 * krow + 11648, 64, 16);
        }
      }
    }
    for (int_fast32_t orow = 0; orow < 28; orow++) {
      for (int_fast32_t och_o = 0; och_o < 8; och_o++) {
        gemmini_extended_mvin(&bias[16 * och_o], 16 * och_o + 0x80000000, 16, 16);
      }
      for (int_fast32_t krow = 0; krow < 3; krow++) {
        if (orow + 1 < 28) {
          for (int_fast32_t kcol = 0; kcol < 3; kcol++) {
            uint32_t addr = 128 * kcol + 384 * krow + 1152 * ((orow + 1) % 2) + 11648;
            for (int_fast32_t kch_o_o = 0; kch_o_o < 2; kch_o_o++) {
              gemmini_extended4_config_ld(128, 1.0f, 0, 16, 2);
              gemmini_extended_mvin3(&inp[115200 * b + 64 * kch_o_o + 128 * kcol + 3840 * krow + 3840 * orow + 3840], addr + 64 * kch_o_o, 64, 16);
            }
          }
        }
        for (int_fast32_t kcol = 0; kcol < 3; kcol++) {
          for (int_fast32_t kch_o = 0; kch_o < 8; kch_o++) {
            uint32_t addr2 = 128 * kch_o + 1024 * kcol + 3072 * krow + 1408;
            uint32_t addr8 = 16 * kch_o + 128 * kcol + 384 * krow + 1152 * (orow % 2) + 11648;
            gemmini_extended_preload(addr2, 0xC0000000, 16, 16, 16, 16);
            gemmini_extended_compute_preloaded(addr8, ~((uint32_t)0), 16, 16, 16, 16);
            gemmini_extended_preload(addr2 + 16, 0xC0000010, 16, 16, 16, 16);
            gemmini_extended_compute_preloaded(addr8, ~((uint32_t)0), 16, 16, 16, 16);
            gemmini_extended_preload(addr2 + 32, 0xC0000020, 16, 16, 16, 16);
            gemmini_extended_compute_preloaded(addr8, ~((uint32_t)0), 16, 16, 16, 16);
            gemmini_extended_preload(addr2 + 48, 0xC0000030, 16, 16, 16, 16);
            gemmini_extended_compute_preloaded(addr8, ~((uint32_t)0), 16, 16, 16, 16);
            gemmini_extended_preload(addr2 + 64, 0xC0000040, 16, 16, 16, 16);
            gemmini_extended_compute_preloaded(addr8, ~((uint32_t)0), 16, 16, 16, 16);
            gemmini_extended_preload(addr2 + 80, 0xC0000050, 16, 16, 16, 16);
            gemmini_extended_compute_preloaded(addr8, ~((uint32_t)0), 16, 16, 16, 16);
            gemmini_extended_preload(addr2 + 96, 0xC0000060, 16, 16, 16, 16);
            gemmini_extended_compute_preloaded(addr8, ~((uint32_t)0), 16, 16, 16, 16);
            gemmini_extended_preload(addr2 + 112, 0xC0000070, 16, 16, 16, 16);
            gemmini_extended_compute_preloaded(addr8, ~((uint32_t)0), 16, 16, 16, 16);
          }
        }
      }
      for (int_fast32_t och_o = 0; och_o < 8; och_o++) {
        gemmini_extended_mvout(&output[100352 * b + 16 * och_o + 3584 * orow], 16 * och_o + 0x80000000, 16, 16);
      }
      for (int_fast32_t och_o = 0; och_o < 8; och_o++) {
        gemmini_extended_mvin(&bias[16 * och_o], 13 * och_o + 0x80000000, 16, 12);
      }
      for (int_fast32_t krow = 0; krow < 3; krow++) {
        for (int_fast32_t kch_o = 0; kch_o < 8; kch_o++) {
          for (int_fast32_t och_o_o = 0; och_o_o < 2; och_o_o++) {
            gemmini_extended3_config_ld(128, 1.0f, 0, 1);
            gemmini_extended_mvin2(&weights[2048 * kch_o + 49152 * krow + 64 * och_o_o], 128 * kch_o + 64 * och_o_o + 10624, 64, 16);
          }
        }
        for (int_fast32_t kcol = 0; kcol < 3; kcol++) {
          for (int_fast32_t kch_o_o = 0; kch_o_o < 2; kch_o_o++) {
            gemmini_extended4_config_ld(128, 1.0f, 0, 12, 2);
            gemmini_extended_mvin3(&inp[115200 * b + 64 * kch_o_o + 128 * kcol + 3840 * krow + 3840 * orow + 2048], 48 * kch_o_o + 96 * kcol, 64, 12);
          }
          for (int_fast32_t kch_o = 0; kch_o < 8; kch_o++) {
            uint32_t addr5 = 128 * kch_o + 4096 * ((kcol + 1) % 2) + 10624;
            uint32_t addr6 = 128 * kch_o + 4096 * (kcol % 2) + 10624;
            uint32_t addr7 = 12 * kch_o + 96 * kcol;
            if (kcol + 1 < 3) {
              gemmini_extended3_config_ld(128, 1.0f, 0, 1);
              gemmini_extended_mvin2(&weights[2048 * kch_o + 16384 * kcol + 49152 * krow + 16384], addr5, 64, 16);
              gemmini_extended3_config_ld(128, 1.0f, 0, 1);
              gemmini_extended_mvin2(&weights[2048 * kch_o + 16384 * kcol + 49152 * krow + 16448], addr5 + 64, 64, 16);
            }
            gemmini_extended_preload(addr6, 0xC0000000, 16, 16, 16, 12);
            gemmini_extended_compute_preloaded(addr7, ~((uint32_t)0), 16, 12, 16, 16);
            gemmini_extended_preload(addr6 + 16, 0xC000000D, 16, 16, 16, 12);
            gemmini_extended_compute_preloaded(addr7, ~((uint32_t)0), 16, 12, 16, 16);
            gemmini_extended_preload(addr6 + 32, 0xC000001A, 16, 16, 16, 12);
            gemmini_extended_compute_preloaded(addr7, ~((uint32_t)0), 16, 12, 16, 16);
            gemmini_extended_preload(addr6 + 48, 0xC0000027, 16, 16, 16, 12);
            gemmini_extended_compute_preloaded(addr7, ~((uint32_t)0), 16, 12, 16, 16);
            gemmini_extended_preload(addr6 + 64, 0xC0000034, 16, 16, 16, 12);
            gemmini_extended_compute_preloaded(addr7, ~((uint32_t)0), 16, 12, 16, 16);
            gemmini_extended_preload(addr6 + 80, 0xC0000041, 16, 16, 16, 12);
            gemmini_extended_compute_preloaded(addr7, ~((uint32_t)0), 16, 12, 16, 16);
            gemmini_extended_preload(addr6 + 96, 0xC000004E, 16, 16, 16, 12);
            gemmini_extended_compute_preloaded(addr7, ~((uint32_t)0), 16, 12, 16, 16);
            gemmini_extended_preload(addr6 + 112, 0xC000005B, 16, 16, 16, 12);
            gemmini_extended_compute_preloaded(addr7, ~((uint32_t)0), 16, 12, 16, 16);
          }
        }
      }
      for (int_fast32_t och_o = 0; och_o < 8; och_o++) {
        gemmini_extended_mvout(&output[100352 * b + 16 * och_o + 3584 * orow + 2048], 13 * och_o + 0x80000000, 16, 12);
      }
    }
  }
}
