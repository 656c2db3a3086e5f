void conv_1x22x22x16(conv_Context *ctxt, int8_t output[1][20][20][16], const int32_t bias[1][16], const int8_t inp[1][22][22][16], const int8_t weights[3][3][16][16], bool act, const float* scale) {
  config_st(16, act, *scale);
  config_ex(WEIGHT_STATIONARY, 0, 1, 0, 0);
  config_ld(16, 1.0f, 1);
  config_ld(0, 1.0f, 0);
  for (int b = 0; b < 1; b++) {
    for (int orow = 0; orow < 20; orow++) {
      for (int ocol_o = 0; ocol_o < 1; ocol_o++) {
        uint32_t res = 0x80000000;
        for (int och_o = 0; och_o < 1; och_o++) {
          mvin(&bias[och_o][0], res + 16 * och_o, 16, 16);
        }
        for (int krow = 0; krow < 3; krow++) {
          uint32_t i_s = 0;
          for (int kcol = 0; kcol < 3; kcol++) {
            uint32_t w_s = 48;
            for (int kch_o = 0; kch_o < 1; kch_o++) {
              mvin2(&weights[krow][kch_o + kcol][0][0], w_s + 16 * kch_o, 16, 16);
            }
            config_ld(16, 1.0f, 16, 2);
            mvin3(&inp[b][krow + orow][kcol + 16 * ocol_o][0], i_s + 16 * kcol, 16, 16);
            for (int kch_o = 0; kch_o < 1; kch_o++) {
              for (int och_o = 0; och_o < 1; och_o++) {
                preload(w_s + 16 * kch_o + 16 * och_o, (res + 16 * och_o) | 0x40000000, 16, 16, 16, 16);
                compute_preloaded(i_s + 16 * kch_o + 16 * kcol, ~((uint32_t)0), 16, 16, 16, 16);
              }
            }
          }
        }
        for (int och_o = 0; och_o < 1; och_o++) {
          mvout(&output[b][orow][och_o + 16 * ocol_o][0], res + 16 * och_o, 16, 16);
        }
      }
      uint32_t res = 0x80000000;
      for (int och_o = 0; och_o < 1; och_o++) {
        mvin(&bias[och_o][0], res + 5 * och_o, 16, 4);
      }
      for (int krow = 0; krow < 3; krow++) {
        uint32_t i_s = 0;
        for (int kcol = 0; kcol < 3; kcol++) {
          uint32_t w_s = 48;
          for (int kch_o = 0; kch_o < 1; kch_o++) {
            mvin2(&weights[krow][kch_o + kcol][0][0], w_s + 16 * kch_o, 16, 16);
          }
          config_ld(16, 1.0f, 4, 2);
          mvin3(&inp[b][krow + orow][kcol + 16][0], i_s + 4 * kcol, 16, 4);
          for (int kch_o = 0; kch_o < 1; kch_o++) {
            for (int och_o = 0; och_o < 1; och_o++) {
              preload(w_s + 16 * kch_o + 16 * och_o, (res + 5 * och_o) | 0x40000000, 16, 16, 16, 4);
              compute_preloaded(i_s + 4 * kch_o + 4 * kcol, ~((uint32_t)0), 16, 4, 16, 16);
            }
          }
        }
      }
      for (int och_o = 0; och_o < 1; och_o++) {
        mvout(&output[b][orow][och_o + 16][0], res + 5 * och_o, 16, 4);
      }
    }
  }
}
