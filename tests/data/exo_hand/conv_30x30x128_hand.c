#include "conv.h"

#include <stdio.h>
#include <stdlib.h>

#include <include/gemmini.h>
#include "gemm_acc_malloc.h"
#include <include/gemmini.h>
#include "gemm_malloc.h"

/* relying on the following instruction..."
config_ld_acc_i32_vector(stride_set)
gemmini_extended3_config_ld(0, 1.0f, 0, 0);

*/

/* relying on the following instruction..."
config_ld_i8_id1(src_stride)
gemmini_extended3_config_ld({src_stride}, 1.0f, 0, 1);

*/

/* relying on the following instruction..."
config_matmul()
gemmini_extended_config_ex(WS, 0, 0, 1, 0, 0);

*/

/* relying on the following instruction..."
config_st_acc_i8(scale,dst_stride,act)
gemmini_extended_config_st({dst_stride}, {act}, {scale}[0]);

*/
// conv_30x30x128_hand(
//     output : i8[4, 28, 28, 128] @DRAM,
//     bias : i32[1, 128] @DRAM,
//     inp : i8[4, 30, 30, 128] @DRAM,
//     weights : i8[3, 3, 128, 128] @DRAM,
//     act : bool,
//     scale : f32 @DRAM
// )
void conv_30x30x128_hand( conv_Context *ctxt, int8_t* output, const int32_t* bias, const int8_t* inp, const int8_t* weights, bool act, const float* scale ) {
gemmini_extended_config_st((128), (act), (scale)[0]);

gemmini_extended_config_ex(WS, 0, 0, 1, 0, 0);

gemmini_extended3_config_ld((128), 1.0f, 0, 1);

gemmini_extended3_config_ld(0, 1.0f, 0, 0);

for (int_fast32_t och_out = 0; och_out < 2; och_out++) {
  int8_t *w_s = (int8_t*) ((uint64_t)gemm_malloc (16 * 16 * 4 * 8 * 3 * 3 * sizeof(int8_t)));
  int8_t *w_s_1 = (int8_t*) ((uint64_t)gemm_malloc (16 * 16 * 4 * 8 * 3 * 3 * sizeof(int8_t)));
  int8_t *i_s = (int8_t*) ((uint64_t)gemm_malloc (16 * 16 * 8 * 3 * sizeof(int8_t)));
  int8_t *i_s_1 = (int8_t*) ((uint64_t)gemm_malloc (16 * 12 * 8 * 3 * sizeof(int8_t)));
  int32_t *res = (int32_t*) ((uint32_t)gemm_acc_malloc (16 * 16 * 4 * sizeof(int32_t)));
  int32_t *res_1 = (int32_t*) ((uint32_t)gemm_acc_malloc (16 * 13 * 4 * sizeof(int32_t)));
  for (int_fast32_t krow = 0; krow < 3; krow++) {
    for (int_fast32_t kcol = 0; kcol < 3; kcol++) {
      for (int_fast32_t kch_o = 0; kch_o < 8; kch_o++) {
        gemmini_extended_mvin2( &weights[(krow) * (49152) + (kcol) * (16384) + (16 * kch_o) * (128) + 64 * och_out], ((uint64_t) &*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)w_s)) + ((krow) * (24576) + (kcol) * (8192) + (kch_o) * (1024))/16))), 16*(4), (16) );
      }
    }
  }
  for (int_fast32_t krow = 0; krow < 3; krow++) {
    for (int_fast32_t kcol = 0; kcol < 3; kcol++) {
      for (int_fast32_t kch_o = 0; kch_o < 8; kch_o++) {
        gemmini_extended3_config_ld((128), 1.0f, 0, 1);

        gemmini_extended_mvin2( &weights[(krow) * (49152) + (kcol) * (16384) + (16 * kch_o) * (128) + 64 * och_out], ((uint64_t) &*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)w_s_1)) + ((krow) * (24576) + (kcol) * (8192) + (kch_o) * (1024))/16))), 16*(4), (16) );
      }
    }
  }
  for (int_fast32_t b = 0; b < 4; b++) {
    for (int_fast32_t orow = 0; orow < 28; orow++) {
      for (int_fast32_t ocol_o = 0; ocol_o < 1; ocol_o++) {
        gemmini_extended_mvin( ((uint64_t) &bias[64 * och_out]), ((uint32_t) &*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res)) + (0)/16))), 16, (16) );
        gemmini_extended_mvin( ((uint64_t) &bias[16 + 64 * och_out]), ((uint32_t) &*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res)) + (256)/16))), 16, (16) );
        gemmini_extended_mvin( ((uint64_t) &bias[32 + 64 * och_out]), ((uint32_t) &*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res)) + ((2) * (256))/16))), 16, (16) );
        gemmini_extended_mvin( ((uint64_t) &bias[48 + 64 * och_out]), ((uint32_t) &*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res)) + ((3) * (256))/16))), 16, (16) );
        for (int_fast32_t krow = 0; krow < 3; krow++) {
          for (int_fast32_t kcol = 0; kcol < 3; kcol++) {
            gemmini_extended4_config_ld(((struct exo_win_2i8c){ &inp[(b) * (115200) + (krow + orow) * (3840) + (kcol + 16 * ocol_o) * (128)], { 128, 1 } }).strides[0]*1, 1.0f, 0, (16), 2);
gemmini_extended_mvin3( &inp[(b) * (115200) + (krow + orow) * (3840) + (kcol + 16 * ocol_o) * (128)], ((uint64_t) &*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)i_s)) + ((kcol) * (2048))/16))), 16*(4), (16) );
            gemmini_extended4_config_ld(((struct exo_win_2i8c){ &inp[(b) * (115200) + (krow + orow) * (3840) + (kcol + 16 * ocol_o) * (128) + 64], { 128, 1 } }).strides[0]*1, 1.0f, 0, (16), 2);
gemmini_extended_mvin3( &inp[(b) * (115200) + (krow + orow) * (3840) + (kcol + 16 * ocol_o) * (128) + 64], ((uint64_t) &*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)i_s)) + ((kcol) * (2048) + (4) * (256))/16))), 16*(4), (16) );
            for (int_fast32_t kch_o = 0; kch_o < 8; kch_o++) {
              gemmini_extended_preload((uint32_t)(&*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)w_s)) + ((krow) * (24576) + (kcol) * (8192) + (kch_o) * (1024))/16))), (uint32_t)(&*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res)) + (0)/16))) | 0x40000000, (16), (16), (16), (16));
gemmini_extended_compute_preloaded((uint32_t)(&*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)i_s)) + ((kcol) * (2048) + (kch_o) * (256))/16))), ~((uint32_t)0), (16), (16), 16, 16);
              gemmini_extended_preload((uint32_t)(&*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)w_s)) + ((krow) * (24576) + (kcol) * (8192) + (kch_o) * (1024) + 256)/16))), (uint32_t)(&*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res)) + (256)/16))) | 0x40000000, (16), (16), (16), (16));
gemmini_extended_compute_preloaded((uint32_t)(&*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)i_s)) + ((kcol) * (2048) + (kch_o) * (256))/16))), ~((uint32_t)0), (16), (16), 16, 16);
              gemmini_extended_preload((uint32_t)(&*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)w_s)) + ((krow) * (24576) + (kcol) * (8192) + (kch_o) * (1024) + (2) * (256))/16))), (uint32_t)(&*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res)) + ((2) * (256))/16))) | 0x40000000, (16), (16), (16), (16));
gemmini_extended_compute_preloaded((uint32_t)(&*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)i_s)) + ((kcol) * (2048) + (kch_o) * (256))/16))), ~((uint32_t)0), (16), (16), 16, 16);
              gemmini_extended_preload((uint32_t)(&*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)w_s)) + ((krow) * (24576) + (kcol) * (8192) + (kch_o) * (1024) + (3) * (256))/16))), (uint32_t)(&*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res)) + ((3) * (256))/16))) | 0x40000000, (16), (16), (16), (16));
gemmini_extended_compute_preloaded((uint32_t)(&*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)i_s)) + ((kcol) * (2048) + (kch_o) * (256))/16))), ~((uint32_t)0), (16), (16), 16, 16);
            }
          }
        }
        gemmini_extended_mvout( ((uint64_t) &output[(b) * (100352) + (orow) * (3584) + (16 * ocol_o) * (128) + 64 * och_out]), (uint32_t) &*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res)) + (0)/16)), (16), (16) );
        gemmini_extended_mvout( ((uint64_t) &output[(b) * (100352) + (orow) * (3584) + (16 * ocol_o) * (128) + 16 + 64 * och_out]), (uint32_t) &*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res)) + (256)/16)), (16), (16) );
        gemmini_extended_mvout( ((uint64_t) &output[(b) * (100352) + (orow) * (3584) + (16 * ocol_o) * (128) + 32 + 64 * och_out]), (uint32_t) &*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res)) + ((2) * (256))/16)), (16), (16) );
        gemmini_extended_mvout( ((uint64_t) &output[(b) * (100352) + (orow) * (3584) + (16 * ocol_o) * (128) + 48 + 64 * och_out]), (uint32_t) &*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res)) + ((3) * (256))/16)), (16), (16) );
      }
      gemmini_extended_mvin( ((uint64_t) &bias[64 * och_out]), ((uint32_t) &*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res_1)) + (0)/16))), 16, (12) );
      gemmini_extended_mvin( ((uint64_t) &bias[16 + 64 * och_out]), ((uint32_t) &*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res_1)) + (208)/16))), 16, (12) );
      gemmini_extended_mvin( ((uint64_t) &bias[32 + 64 * och_out]), ((uint32_t) &*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res_1)) + ((2) * (208))/16))), 16, (12) );
      gemmini_extended_mvin( ((uint64_t) &bias[48 + 64 * och_out]), ((uint32_t) &*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res_1)) + ((3) * (208))/16))), 16, (12) );
      for (int_fast32_t krow = 0; krow < 3; krow++) {
        for (int_fast32_t kcol = 0; kcol < 3; kcol++) {
          gemmini_extended4_config_ld(((struct exo_win_2i8c){ &inp[(b) * (115200) + (krow + orow) * (3840) + (16 + kcol) * (128)], { 128, 1 } }).strides[0]*1, 1.0f, 0, (12), 2);
gemmini_extended_mvin3( &inp[(b) * (115200) + (krow + orow) * (3840) + (16 + kcol) * (128)], ((uint64_t) &*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)i_s_1)) + ((kcol) * (1536))/16))), 16*(4), (12) );
          gemmini_extended4_config_ld(((struct exo_win_2i8c){ &inp[(b) * (115200) + (krow + orow) * (3840) + (16 + kcol) * (128) + 64], { 128, 1 } }).strides[0]*1, 1.0f, 0, (12), 2);
gemmini_extended_mvin3( &inp[(b) * (115200) + (krow + orow) * (3840) + (16 + kcol) * (128) + 64], ((uint64_t) &*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)i_s_1)) + ((kcol) * (1536) + (4) * (192))/16))), 16*(4), (12) );
          for (int_fast32_t kch_o = 0; kch_o < 8; kch_o++) {
            gemmini_extended_preload((uint32_t)(&*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)w_s_1)) + ((krow) * (24576) + (kcol) * (8192) + (kch_o) * (1024))/16))), (uint32_t)(&*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res_1)) + (0)/16))) | 0x40000000, (16), (16), (16), (12));
gemmini_extended_compute_preloaded((uint32_t)(&*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)i_s_1)) + ((kcol) * (1536) + (kch_o) * (192))/16))), ~((uint32_t)0), (16), (12), 16, 16);
            gemmini_extended_preload((uint32_t)(&*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)w_s_1)) + ((krow) * (24576) + (kcol) * (8192) + (kch_o) * (1024) + 256)/16))), (uint32_t)(&*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res_1)) + (208)/16))) | 0x40000000, (16), (16), (16), (12));
gemmini_extended_compute_preloaded((uint32_t)(&*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)i_s_1)) + ((kcol) * (1536) + (kch_o) * (192))/16))), ~((uint32_t)0), (16), (12), 16, 16);
            gemmini_extended_preload((uint32_t)(&*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)w_s_1)) + ((krow) * (24576) + (kcol) * (8192) + (kch_o) * (1024) + (2) * (256))/16))), (uint32_t)(&*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res_1)) + ((2) * (208))/16))) | 0x40000000, (16), (16), (16), (12));
gemmini_extended_compute_preloaded((uint32_t)(&*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)i_s_1)) + ((kcol) * (1536) + (kch_o) * (192))/16))), ~((uint32_t)0), (16), (12), 16, 16);
            gemmini_extended_preload((uint32_t)(&*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)w_s_1)) + ((krow) * (24576) + (kcol) * (8192) + (kch_o) * (1024) + (3) * (256))/16))), (uint32_t)(&*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res_1)) + ((3) * (208))/16))) | 0x40000000, (16), (16), (16), (12));
gemmini_extended_compute_preloaded((uint32_t)(&*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)i_s_1)) + ((kcol) * (1536) + (kch_o) * (192))/16))), ~((uint32_t)0), (16), (12), 16, 16);
          }
        }
      }
      gemmini_extended_mvout( ((uint64_t) &output[(b) * (100352) + (orow) * (3584) + (16) * (128) + 64 * och_out]), (uint32_t) &*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res_1)) + (0)/16)), (16), (12) );
      gemmini_extended_mvout( ((uint64_t) &output[(b) * (100352) + (orow) * (3584) + (16) * (128) + 16 + 64 * och_out]), (uint32_t) &*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res_1)) + (208)/16)), (16), (12) );
      gemmini_extended_mvout( ((uint64_t) &output[(b) * (100352) + (orow) * (3584) + (16) * (128) + 32 + 64 * och_out]), (uint32_t) &*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res_1)) + ((2) * (208))/16)), (16), (12) );
      gemmini_extended_mvout( ((uint64_t) &output[(b) * (100352) + (orow) * (3584) + (16) * (128) + 48 + 64 * och_out]), (uint32_t) &*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res_1)) + ((3) * (208))/16)), (16), (12) );
    }
  }
  gemm_acc_free((uint32_t)(res_1));
  gemm_acc_free((uint32_t)(res));
  gemm_free((uint64_t)(i_s_1));
  gemm_free((uint64_t)(i_s));
  gemm_free((uint64_t)(w_s_1));
  gemm_free((uint64_t)(w_s));
}
}


/* relying on the following instruction..."
do_ld_acc_i32_vector(n,src,dst)
gemmini_extended_mvin( ((uint64_t) &{src_data}), ((uint32_t) &{dst_data}), 16, {n} );
*/

/* relying on the following instruction..."
do_ld_i8_block_id1(n,m,src,dst)
gemmini_extended_mvin2( &{src_data}, ((uint64_t) &{dst_data}), 16*{m}, {n} );
*/

/* relying on the following instruction..."
do_matmul_acc_i8(N,M,K,A,B,C)
gemmini_extended_preload((uint32_t)(&{B_data}), (uint32_t)(&{C_data}) | 0x40000000, {M}, {K}, {M}, {N});
gemmini_extended_compute_preloaded((uint32_t)(&{A_data}), ~((uint32_t)0), {K}, {N}, 16, 16);
*/

/* relying on the following instruction..."
do_st_acc_i8(n,m,src,dst)
gemmini_extended_mvout( ((uint64_t) &{dst_data}), (uint32_t) &{src_data}, {m}, {n} );
*/

/* relying on the following instruction..."
ld_i8_block_id2(n,m,src,dst)
gemmini_extended4_config_ld({src}.strides[0]*1, 1.0f, 0, {n}, 2);
gemmini_extended_mvin3( &{src_data}, ((uint64_t) &{dst_data}), 16*{m}, {n} );
*/
