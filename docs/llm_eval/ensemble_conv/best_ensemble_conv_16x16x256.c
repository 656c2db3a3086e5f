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
  gemmini_extended4_config_ld(256, 1.0f, 0, 16, 2);
  gemmini_extended_mvin2(&weights[0], 4096, 64, 16);
  gemmini_extended_mvin2(&weights[64], 4160, 64, 16);
  gemmini_extended_mvin2(&weights[128], 4224, 64, 16);
  gemmini_extended_mvin2(&weights[192], 4288, 64, 16);
  gemmini_extended_mvin2(&weights[4096], 4352, 64, 16);
  gemmini_extended_mvin2(&weights[4160], 4416, 64, 16);
  gemmini_extended_mvin2(&weights[4224], 4480, 64, 16);
  gemmini_extended_mvin2(&weights[4288], 4544, 64, 16);
  gemmini_extended_mvin2(&weights[8192], 4608, 64, 16);
  gemmini_extended_mvin2(&weights[8256], 4672, 64, 16);
  gemmini_extended_mvin2(&weights[8320], 4736, 64, 16);
  gemmini_extended_mvin2(&weights[8384], 4800, 64, 16);
  gemmini_extended_mvin2(&weights[12288], 4864, 64, 16);
  gemmini_extended_mvin2(&weights[12352], 4928, 64, 16);
  gemmini_extended_mvin2(&weights[12416], 4992, 64, 16);
  gemmini_extended_mvin2(&weights[12480], 5056, 64, 16);
  gemmini_extended_mvin2(&weights[16384], 5120, 64, 16);
  gemmini_extended_mvin2(&weights[16448], 5184, 64, 16);
  gemmini_extended_mvin2(&weights[16512], 5248, 64, 16);
  gemmini_extended_mvin2(&weights[16576], 5312, 64, 16);
  gemmini_extended_mvin2(&weights[20480], 5376, 64, 16);
  gemmini_extended_mvin2(&weights[20544], 5440, 64, 16);
  gemmini_extended_mvin2(&weights[20608], 5504, 64, 16);
  gemmini_extended_mvin2(&weights[20672], 5568, 64, 16);
  gemmini_extended_mvin2(&weights[24576], 5632, 64, 16);
  gemmini_extended_mvin2(&weights[24640], 5696, 64, 16);
  gemmini_extended_mvin2(&weights[24704], 5760, 64, 16);
  gemmini_extended_mvin2(&weights[24768], 5824, 64, 16);
  gemmini_extended_mvin2(&weights[28672], 5888, 64, 16);
  gemmini_extended_mvin2(&weights[28736], 5952, 64, 16);
  gemmini_extended_mvin2(&weights[28800], 6016, 64, 16);
  gemmini_extended_mvin2(&weights[28864], 6080, 64, 16);
  gemmini_extended_mvin2(&weights[32768], 6144, 64, 16);
  gemmini_extended_mvin2(&weights[32832], 6208, 64, 16);
  gemmini_extended_mvin2(&weights[32896], 6272, 64, 16);
  gemmini_extended_mvin2(&weights[32960], 6336, 64, 16);
  gemmini_extended_mvin2(&weights[36864], 6400, 64, 16);
  gemmini_extended_mvin2(&weights[36928], 6464, 64, 16);
  gemmini_extended_mvin2(&weights[36992], 6528, 64, 16);
  gemmini_extended_mvin2(&weights[37056], 6592, 64, 16);
  gemmini_extended_mvin2(&weights[40960], 6656, 64, 16);
  gemmini_extended_mvin2(&weights[41024], 6720, 64, 16);
  gemmini_extended_mvin2(&weights[41088], 6784, 64, 16);
  gemmini_extended_mvin2(&weights[41152], 6848, 64, 16);
  gemmini_extended_mvin2(&weights[45056], 6912, 64, 16);
  gemmini_extended_mvin2(&weights[45120], 6976, 64, 16);
  gemmini_extended_mvin2(&weights[45184], 7040, 64, 16);
  gemmini_extended_mvin2(&weights[45248], 7104, 64, 16);
  gemmini_extended_mvin2(&weights[49152], 7168, 64, 16);
  gemmini_extended_mvin2(&weights[49216], 7232, 64, 16);
  gemmini_extended_mvin2(&weights[49280], 7296, 64, 16);
  gemmini_extended_mvin2(&weights[49344], 7360, 64, 16);
  gemmini_extended_mvin2(&weights[53248], 7424, 64, 16);
  gemmini_extended_mvin2(&weights[53312], 7488, 64, 16);
  gemmini_extended_mvin2(&weights[53376], 7552, 64, 16);
  gemmini_extended_mvin2(&weights[53440], 7616, 64, 16);
  gemmini_extended_mvin2(&weights[57344], 7680, 64, 16);
  gemmini_extended_mvin2(&weights[57408], 7744, 64, 16);
  gemmini_extended_mvin2(&weights[57472], 7808, 64, 16);
  gemmini_extended_mvin2(&weights[57536], 7872, 64, 16);
  gemmini_extended_mvin2(&weights[61440], 7936, 64, 16);
  gemmini_extended_mvin2(&weights[61504], 8000, 64, 16);
  gemmini_extended_mvin2(&weights[61568], 8064, 64, 16);
  gemmini_extended_mvin2(&weights[61632], 8128, 64, 16);
  for (int_fast32_t r = 0; r < 3; r++) {
    for (int_fast32_t b = 0; b < 4; b++) {
      for (int_fast32_t q = 0; q < 4; q++) {
        gemmini_extended_mvin3(&inp[65536 * b + 64 * q + 4096 * r], 256 * b + 64 * q + 1024 * r, 64, 16);
      }
    }
  }
  for (int_fast32_t orow = 0; orow < 14; orow++) {
    for (int_fast32_t b = 0; b < 4; b++) {
      for (int_fast32_t och_o = 0; och_o < 16; och_o++) {
        gemmini_extended_mvin(&bias[16 * och_o], 240 * b + 15 * och_o + 0x80000000, 16, 14);
      }
    }
    for (int_fast32_t krow = 0; krow < 3; krow++) {
      for (int_fast32_t kcol = 0; kcol < 3; kcol++) {
        int nkcol = kcol < 2 ? kcol + 1 : 0;
        int nkrow = kcol < 2 ? krow : krow < 2 ? krow + 1 : 0;
        int pf = !(krow == 2 && orow == 13 && kcol == 2);
        int ld = kcol == 0 && krow == 0 && orow < 13;
        uint32_t wnext = 4096 * nkcol + 4096;
        uint32_t wcur = 4096 * kcol + 4096;
        uint32_t icur = kcol + 1024 * ((krow + orow) & 3);
        for (int_fast32_t kch_o = 0; kch_o < 16; kch_o++) {
          uint32_t addr = wnext + 256 * kch_o;
          uint32_t addr2 = wcur + 256 * kch_o;
          uint32_t addr3 = icur + 16 * kch_o;
          uint32_t addr4 = addr3 + 256;
          uint32_t addr5 = addr3 + 512;
          uint32_t addr6 = addr3 + 768;
          if (pf) {
            gemmini_extended_mvin2(&weights[4096 * kch_o + 65536 * nkcol + 196608 * nkrow], addr, 64, 16);
            gemmini_extended_mvin2(&weights[4096 * kch_o + 65536 * nkcol + 196608 * nkrow + 64], addr + 64, 64, 16);
            gemmini_extended_mvin2(&weights[4096 * kch_o + 65536 * nkcol + 196608 * nkrow + 128], addr + 128, 64, 16);
            gemmini_extended_mvin2(&weights[4096 * kch_o + 65536 * nkcol + 196608 * nkrow + 192], addr + 192, 64, 16);
          }
          if (ld) {
            int bb = kch_o >> 2;
            int q = kch_o & 3;
            gemmini_extended_mvin3(&inp[65536 * bb + 4096 * orow + 64 * q + 12288], 256 * bb + 64 * q + 1024 * ((orow + 3) & 3), 64, 16);
          }
          gemmini_extended_preload(addr2, 0xC0000000, 16, 16, 16, 14);
          gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC00000F0, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr4, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC00001E0, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr5, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC00002D0, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr6, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(addr2 + 16, 0xC000000F, 16, 16, 16, 14);
          gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC00000FF, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr4, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC00001EF, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr5, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC00002DF, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr6, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(addr2 + 32, 0xC000001E, 16, 16, 16, 14);
          gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC000010E, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr4, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC00001FE, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr5, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC00002EE, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr6, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(addr2 + 48, 0xC000002D, 16, 16, 16, 14);
          gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC000011D, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr4, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC000020D, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr5, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC00002FD, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr6, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(addr2 + 64, 0xC000003C, 16, 16, 16, 14);
          gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC000012C, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr4, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC000021C, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr5, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC000030C, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr6, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(addr2 + 80, 0xC000004B, 16, 16, 16, 14);
          gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC000013B, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr4, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC000022B, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr5, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC000031B, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr6, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(addr2 + 96, 0xC000005A, 16, 16, 16, 14);
          gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC000014A, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr4, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC000023A, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr5, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC000032A, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr6, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(addr2 + 112, 0xC0000069, 16, 16, 16, 14);
          gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC0000159, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr4, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC0000249, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr5, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC0000339, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr6, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(addr2 + 128, 0xC0000078, 16, 16, 16, 14);
          gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC0000168, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr4, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC0000258, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr5, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC0000348, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr6, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(addr2 + 144, 0xC0000087, 16, 16, 16, 14);
          gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC0000177, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr4, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC0000267, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr5, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC0000357, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr6, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(addr2 + 160, 0xC0000096, 16, 16, 16, 14);
          gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC0000186, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr4, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC0000276, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr5, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC0000366, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr6, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(addr2 + 176, 0xC00000A5, 16, 16, 16, 14);
          gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC0000195, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr4, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC0000285, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr5, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC0000375, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr6, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(addr2 + 192, 0xC00000B4, 16, 16, 16, 14);
          gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC00001A4, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr4, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC0000294, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr5, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC0000384, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr6, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(addr2 + 208, 0xC00000C3, 16, 16, 16, 14);
          gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC00001B3, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr4, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC00002A3, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr5, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC0000393, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr6, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(addr2 + 224, 0xC00000D2, 16, 16, 16, 14);
          gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC00001C2, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr4, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC00002B2, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr5, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC00003A2, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr6, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(addr2 + 240, 0xC00000E1, 16, 16, 16, 14);
          gemmini_extended_compute_preloaded(addr3, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC00001D1, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr4, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC00002C1, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr5, ~((uint32_t)0), 16, 14, 16, 16);
          gemmini_extended_preload(~((uint32_t)0), 0xC00003B1, 16, 16, 16, 14);
          gemmini_extended_compute_accumulated(addr6, ~((uint32_t)0), 16, 14, 16, 16);
        }
      }
    }
    for (int_fast32_t b = 0; b < 4; b++) {
      for (int_fast32_t och_o = 0; och_o < 16; och_o++) {
        gemmini_extended_mvout(&output[50176 * b + 16 * och_o + 3584 * orow], 240 * b + 15 * och_o + 0x80000000, 16, 14);
      }
    }
  }
}
