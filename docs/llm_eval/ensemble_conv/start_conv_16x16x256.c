#include <stdint.h>
#include <stdbool.h>
#include "gemmini.h"

typedef struct conv_Context conv_Context;

// conv_16x16x256(
//     output : i8[4, 14, 14, 256] @DRAM,
//     bias : i32[1, 256] @DRAM,
//     inp : i8[4, 16, 16, 256] @DRAM,
//     weights : i8[3, 3, 256, 256] @DRAM,
//     act : bool,
//     scale : f32 @DRAM
// )
void conv_16x16x256( conv_Context *ctxt, int8_t* output, const int32_t* bias, const int8_t* inp, const int8_t* weights, bool act, const float* scale ) {
  gemmini_extended_config_st(256, act, scale[0]);
  gemmini_extended_config_ex(WS, 0, 0, 1, 0, 0);
  gemmini_extended3_config_ld(256, 1.0f, 0, 1);
  gemmini_extended3_config_ld(0, 1.0f, 0, 0);
  for (int_fast32_t b = 0; b < 4; b++) {
    for (int_fast32_t orow = 0; orow < 14; orow++) {
      for (int_fast32_t och_o = 0; och_o < 16; och_o++) {
        gemmini_extended_mvin(&bias[16 * och_o], 15 * och_o + 0x80000000, 16, 14);
      }
      for (int_fast32_t krow = 0; krow < 3; krow++) {
        gemmini_extended_mvin2(&weights[196608 * krow], 4096, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 64], 4160, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 128], 4224, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 192], 4288, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 4096], 4352, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 4160], 4416, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 4224], 4480, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 4288], 4544, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 8192], 4608, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 8256], 4672, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 8320], 4736, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 8384], 4800, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 12288], 4864, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 12352], 4928, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 12416], 4992, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 12480], 5056, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 16384], 5120, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 16448], 5184, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 16512], 5248, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 16576], 5312, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 20480], 5376, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 20544], 5440, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 20608], 5504, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 20672], 5568, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 24576], 5632, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 24640], 5696, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 24704], 5760, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 24768], 5824, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 28672], 5888, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 28736], 5952, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 28800], 6016, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 28864], 6080, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 32768], 6144, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 32832], 6208, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 32896], 6272, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 32960], 6336, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 36864], 6400, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 36928], 6464, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 36992], 6528, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 37056], 6592, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 40960], 6656, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 41024], 6720, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 41088], 6784, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 41152], 6848, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 45056], 6912, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 45120], 6976, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 45184], 7040, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 45248], 7104, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 49152], 7168, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 49216], 7232, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 49280], 7296, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 49344], 7360, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 53248], 7424, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 53312], 7488, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 53376], 7552, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 53440], 7616, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 57344], 7680, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 57408], 7744, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 57472], 7808, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 57536], 7872, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 61440], 7936, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 61504], 8000, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 61568], 8064, 64, 16);
        gemmini_extended_mvin2(&weights[196608 * krow + 61632], 8128, 64, 16);
        for (int_fast32_t kch_o_o = 0; kch_o_o < 4; kch_o_o++) {
          gemmini_extended4_config_ld(256, 1.0f, 0, 14, 2);
          gemmini_extended_mvin3(&inp[65536 * b + 64 * kch_o_o + 4096 * krow + 4096 * orow], 56 * kch_o_o, 64, 14);
        }
        for (int_fast32_t kcol = 0; kcol < 3; kcol++) {
          if (kcol + 1 < 3) {
            for (int_fast32_t kch_o_o = 0; kch_o_o < 4; kch_o_o++) {
              gemmini_extended4_config_ld(256, 1.0f, 0, 14, 2);
              gemmini_extended_mvin3(&inp[65536 * b + 64 * kch_o_o + 256 * kcol + 4096 * krow + 4096 * orow + 256], 56 * kch_o_o + 224 * kcol + 224, 64, 14);
            }
          }
          for (int_fast32_t kch_o = 0; kch_o < 16; kch_o++) {
            uint32_t addr = 256 * kch_o + 4096 * ((kcol + 1) % 2) + 4096;
            uint32_t addr2 = 256 * kch_o + 4096 * (kcol % 2) + 4096;
            uint32_t addr3 = 14 * kch_o + 224 * kcol;
            if (kcol + 1 < 3) {
              gemmini_extended_mvin2(&weights[4096 * kch_o + 65536 * kcol + 196608 * krow + 65536], addr, 64, 16);
              gemmini_extended_mvin2(&weights[4096 * kch_o + 65536 * kcol + 196608 * krow + 65600], addr + 64, 64, 16);
              gemmini_extended_mvin2(&weights[4096 * kch_o + 65536 * kcol + 196608 * krow + 65664], addr + 128, 64, 16);
              gemmini_extended_mvin2(&weights[4096 * kch_o + 65536 * kcol + 196608 * krow + 65728], addr + 192, 64, 16);
            }
            gemmini_extended_preload(addr2, 0xC0000000, 16, 16, 16, 14);
            gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
            gemmini_extended_preload(addr2 + 16, 0xC000000F, 16, 16, 16, 14);
            gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
            gemmini_extended_preload(addr2 + 32, 0xC000001E, 16, 16, 16, 14);
            gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
            gemmini_extended_preload(addr2 + 48, 0xC000002D, 16, 16, 16, 14);
            gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
            gemmini_extended_preload(addr2 + 64, 0xC000003C, 16, 16, 16, 14);
            gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
            gemmini_extended_preload(addr2 + 80, 0xC000004B, 16, 16, 16, 14);
            gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
            gemmini_extended_preload(addr2 + 96, 0xC000005A, 16, 16, 16, 14);
            gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
            gemmini_extended_preload(addr2 + 112, 0xC0000069, 16, 16, 16, 14);
            gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
            gemmini_extended_preload(addr2 + 128, 0xC0000078, 16, 16, 16, 14);
            gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
            gemmini_extended_preload(addr2 + 144, 0xC0000087, 16, 16, 16, 14);
            gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
            gemmini_extended_preload(addr2 + 160, 0xC0000096, 16, 16, 16, 14);
            gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
            gemmini_extended_preload(addr2 + 176, 0xC00000A5, 16, 16, 16, 14);
            gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
            gemmini_extended_preload(addr2 + 192, 0xC00000B4, 16, 16, 16, 14);
            gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
            gemmini_extended_preload(addr2 + 208, 0xC00000C3, 16, 16, 16, 14);
            gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
            gemmini_extended_preload(addr2 + 224, 0xC00000D2, 16, 16, 16, 14);
            gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
            gemmini_extended_preload(addr2 + 240, 0xC00000E1, 16, 16, 16, 14);
            gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
          }
        }
      }
      for (int_fast32_t och_o = 0; och_o < 16; och_o++) {
        gemmini_extended_mvout(&output[50176 * b + 16 * och_o + 3584 * orow], 15 * och_o + 0x80000000, 16, 14);
      }
    }
  }
}
