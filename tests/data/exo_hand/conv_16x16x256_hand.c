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
// conv_16x16x256_hand(
//     output : i8[4, 14, 14, 256] @DRAM,
//     bias : i32[1, 256] @DRAM,
//     inp : i8[4, 16, 16, 256] @DRAM,
//     weights : i8[3, 3, 256, 256] @DRAM,
//     act : bool,
//     scale : f32 @DRAM
// )
void conv_16x16x256_hand( conv_Context *ctxt, int8_t* output, const int32_t* bias, const int8_t* inp, const int8_t* weights, bool act, const float* scale ) {
gemmini_extended_config_st((256), (act), (scale)[0]);

gemmini_extended_config_ex(WS, 0, 0, 1, 0, 0);

gemmini_extended3_config_ld((256), 1.0f, 0, 1);

gemmini_extended3_config_ld(0, 1.0f, 0, 0);

for (int_fast32_t och_out = 0; och_out < 4; och_out++) {
  int8_t *w_s = (int8_t*) ((uint64_t)gemm_malloc (16 * 16 * 4 * 16 * 3 * 3 * sizeof(int8_t)));
  int8_t *i_s = (int8_t*) ((uint64_t)gemm_malloc (16 * 14 * 16 * 3 * sizeof(int8_t)));
  int32_t *res = (int32_t*) ((uint32_t)gemm_acc_malloc (16 * 15 * 4 * sizeof(int32_t)));
  for (int_fast32_t krow = 0; krow < 3; krow++) {
    for (int_fast32_t kcol = 0; kcol < 3; kcol++) {
      for (int_fast32_t kch_o = 0; kch_o < 16; kch_o++) {
        gemmini_extended_mvin2( &weights[(krow) * (196608) + (kcol) * (65536) + (16 * kch_o) * (256) + 64 * och_out], ((uint64_t) &*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)w_s)) + ((krow) * (49152) + (kcol) * (16384) + (kch_o) * (1024))/16))), 16*(4), (16) );
      }
    }
  }
  for (int_fast32_t b = 0; b < 4; b++) {
    for (int_fast32_t orow = 0; orow < 14; orow++) {
      gemmini_extended_mvin( ((uint64_t) &bias[64 * och_out]), ((uint32_t) &*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res)) + (0)/16))), 16, (14) );
      gemmini_extended_mvin( ((uint64_t) &bias[16 + 64 * och_out]), ((uint32_t) &*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res)) + (240)/16))), 16, (14) );
      gemmini_extended_mvin( ((uint64_t) &bias[32 + 64 * och_out]), ((uint32_t) &*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res)) + ((2) * (240))/16))), 16, (14) );
      gemmini_extended_mvin( ((uint64_t) &bias[48 + 64 * och_out]), ((uint32_t) &*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res)) + ((3) * (240))/16))), 16, (14) );
      for (int_fast32_t krow = 0; krow < 3; krow++) {
        for (int_fast32_t kcol = 0; kcol < 3; kcol++) {
          gemmini_extended4_config_ld(((struct exo_win_2i8c){ &inp[(b) * (65536) + (krow + orow) * (4096) + (kcol) * (256)], { 256, 1 } }).strides[0]*1, 1.0f, 0, (14), 2);
gemmini_extended_mvin3( &inp[(b) * (65536) + (krow + orow) * (4096) + (kcol) * (256)], ((uint64_t) &*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)i_s)) + ((kcol) * (3584))/16))), 16*(4), (14) );
          gemmini_extended4_config_ld(((struct exo_win_2i8c){ &inp[(b) * (65536) + (krow + orow) * (4096) + (kcol) * (256) + 64], { 256, 1 } }).strides[0]*1, 1.0f, 0, (14), 2);
gemmini_extended_mvin3( &inp[(b) * (65536) + (krow + orow) * (4096) + (kcol) * (256) + 64], ((uint64_t) &*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)i_s)) + ((kcol) * (3584) + (4) * (224))/16))), 16*(4), (14) );
          gemmini_extended4_config_ld(((struct exo_win_2i8c){ &inp[(b) * (65536) + (krow + orow) * (4096) + (kcol) * (256) + 128], { 256, 1 } }).strides[0]*1, 1.0f, 0, (14), 2);
gemmini_extended_mvin3( &inp[(b) * (65536) + (krow + orow) * (4096) + (kcol) * (256) + 128], ((uint64_t) &*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)i_s)) + ((kcol) * (3584) + (8) * (224))/16))), 16*(4), (14) );
          gemmini_extended4_config_ld(((struct exo_win_2i8c){ &inp[(b) * (65536) + (krow + orow) * (4096) + (kcol) * (256) + 192], { 256, 1 } }).strides[0]*1, 1.0f, 0, (14), 2);
gemmini_extended_mvin3( &inp[(b) * (65536) + (krow + orow) * (4096) + (kcol) * (256) + 192], ((uint64_t) &*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)i_s)) + ((kcol) * (3584) + (12) * (224))/16))), 16*(4), (14) );
          for (int_fast32_t kch_o = 0; kch_o < 16; kch_o++) {
            gemmini_extended_preload((uint32_t)(&*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)w_s)) + ((krow) * (49152) + (kcol) * (16384) + (kch_o) * (1024))/16))), (uint32_t)(&*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res)) + (0)/16))) | 0x40000000, (16), (16), (16), (14));
gemmini_extended_compute_preloaded((uint32_t)(&*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)i_s)) + ((kcol) * (3584) + (kch_o) * (224))/16))), ~((uint32_t)0), (16), (14), 16, 16);
            gemmini_extended_preload((uint32_t)(&*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)w_s)) + ((krow) * (49152) + (kcol) * (16384) + (kch_o) * (1024) + 256)/16))), (uint32_t)(&*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res)) + (240)/16))) | 0x40000000, (16), (16), (16), (14));
gemmini_extended_compute_preloaded((uint32_t)(&*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)i_s)) + ((kcol) * (3584) + (kch_o) * (224))/16))), ~((uint32_t)0), (16), (14), 16, 16);
            gemmini_extended_preload((uint32_t)(&*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)w_s)) + ((krow) * (49152) + (kcol) * (16384) + (kch_o) * (1024) + (2) * (256))/16))), (uint32_t)(&*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res)) + ((2) * (240))/16))) | 0x40000000, (16), (16), (16), (14));
gemmini_extended_compute_preloaded((uint32_t)(&*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)i_s)) + ((kcol) * (3584) + (kch_o) * (224))/16))), ~((uint32_t)0), (16), (14), 16, 16);
            gemmini_extended_preload((uint32_t)(&*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)w_s)) + ((krow) * (49152) + (kcol) * (16384) + (kch_o) * (1024) + (3) * (256))/16))), (uint32_t)(&*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res)) + ((3) * (240))/16))) | 0x40000000, (16), (16), (16), (14));
gemmini_extended_compute_preloaded((uint32_t)(&*(int8_t*)((uint64_t)( ((uint32_t)((uint64_t)i_s)) + ((kcol) * (3584) + (kch_o) * (224))/16))), ~((uint32_t)0), (16), (14), 16, 16);
          }
        }
      }
      gemmini_extended_mvout( ((uint64_t) &output[(b) * (50176) + (orow) * (3584) + 64 * och_out]), (uint32_t) &*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res)) + (0)/16)), (16), (14) );
      gemmini_extended_mvout( ((uint64_t) &output[(b) * (50176) + (orow) * (3584) + 16 + 64 * och_out]), (uint32_t) &*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res)) + (240)/16)), (16), (14) );
      gemmini_extended_mvout( ((uint64_t) &output[(b) * (50176) + (orow) * (3584) + 32 + 64 * och_out]), (uint32_t) &*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res)) + ((2) * (240))/16)), (16), (14) );
      gemmini_extended_mvout( ((uint64_t) &output[(b) * (50176) + (orow) * (3584) + 48 + 64 * och_out]), (uint32_t) &*(int32_t*)((uint64_t)( ((uint32_t)((uint64_t)res)) + ((3) * (240))/16)), (16), (14) );
    }
  }
  gemm_acc_free((uint32_t)(res));
  gemm_free((uint64_t)(i_s));
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
