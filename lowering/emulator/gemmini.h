/* Host emulator of the Gemmini instruction macros (functional only, no timing).
 *
 * Include this instead of the toolchain's gemmini.h to compile Gemmini kernels for
 * the host (x86-64, gcc): Exo's C (`#include <include/gemmini.h>`, see include/) and
 * our toolchain printer's C both build against it. The instructions act on a
 * row-addressed scratchpad and accumulator held in static arrays by emulator.c,
 * with the semantics of docs/hardware.md section 3 (summarised below).
 *
 * Sizes and element types come from macros; the defaults are the int8_16
 * configuration and lowering/emulator/build.py passes -D values taken from gemmini.config:
 *   DIM (16), EMU_SP_ROWS (16384), EMU_ACC_ROWS (1024), EMU_SP_BANKS (4),
 *   EMU_ACC_BANKS (2), EMU_MAX_BLOCKS_SP (4), EMU_MAX_BLOCKS_ACC (1),
 *   EMU_MAX_BLOCKS_MVOUT (1), EMU_FLOAT (0).
 * EMU_FLOAT 0: int8 inputs (elem_t) and int32 accumulators (acc_t), as described below.
 * EMU_FLOAT 1 (the fp32 configurations): elem_t and acc_t are both float32, and
 *   - a scale (load or store) is a float32 multiply, with no rounding to an
 *     integer and no saturation; a zero mvin (dram == 0) writes +0.0 whatever the
 *     scale; an accumulating mvin adds in float32;
 *   - compute: each element of the result is the float32 chain
 *       s = D[i][j]; for k = 0 .. DIM-1: s = s + A[i][k] * W[k][j]
 *     (product rounded, then sum rounded: no fused multiply-add; zero padding
 *     terms included), then C = s, or C = C + s with bit 30 (one more rounding);
 *     C in the scratchpad stores s as is;
 *   - mvout from the accumulator: ReLU?(float32(acc * scale)), where ReLU maps
 *     values < 0 to +0.0 (keeps -0.0 and NaN);
 *   - every DRAM element is 4 bytes (the raw bit 29 changes nothing); loop_ws
 *     reads and writes float32 elements, its strides still counting elements.
 *   A real fp32 Gemmini's processing elements may fuse the multiply and add and the
 *   order within the array is the hardware's; results of products therefore agree
 *   with the reference and the model within the fp32 tolerance of
 *   lowering/reference.py, and bit for bit where the operations are the same.
 *
 * Local addresses: bit 31 accumulator, bit 30 accumulate on write, bit 29 raw
 * (int32) read on mvout, bits 0..28 the row; 0xFFFFFFFF is the garbage address.
 *
 * Instruction semantics (each one records the first error and turns every later
 * instruction into a no-op; emu_error() returns the message, which names the
 * instruction and the source line):
 *  - config_ld(stride_bytes, scale, shrunk, block_stride, id): load state id 0/1/2
 *    (mvin/mvin2/mvin3); block_stride defaults to DIM rows (extended3 form).
 *  - config_st(stride_bytes, act, scale): mvout stride, activation 0 none / 1 ReLU,
 *    float32 scale.  config_ex(dataflow, act, shift, A_stride, A_T, B_T): dataflow
 *    must be WS; A_stride is the scratchpad row step between A rows of a compute;
 *    act is accepted and ignored (activation comes from config_st / loop_ws);
 *    shift must be 0. With B_T set, a preload of B (B_cols, B_rows) reads B_cols
 *    scratchpad rows of B_rows elements and the weights are their transpose
 *    (weight[k][j] = row j, element k); a compute issued with A_T set is an error
 *    (loop_ws transposes through its own operands).
 *  - mvin*(dram, local, cols, rows): rows <= DIM, cols <= DIM*EMU_MAX_BLOCKS_SP into
 *    the scratchpad (int8) or DIM*EMU_MAX_BLOCKS_ACC into the accumulator (int32
 *    DRAM elements, int8 when the load state is `shrunk`). Element (r, c) lands in
 *    row local + r + (c / DIM) * block_stride, column c % DIM. dram == 0 writes
 *    zeros; DRAM stride 0 repeats one row; a load scale != 1 multiplies in float32,
 *    rounds half to even and saturates to the destination type. Into the
 *    accumulator, bit 30 adds (int32 wrap) instead of overwriting.
 *  - preload(B, C, B_cols, B_rows, C_cols, C_rows): names the weights (scratchpad
 *    rows B.., B_rows x B_cols, zero padded; garbage = zeros) and the destination C
 *    for the next compute.  A compute consumes the preload; a compute with no
 *    preload since the previous compute is an error.
 *  - compute_preloaded(A, D, A_cols, A_rows, D_cols, D_rows): the array takes the
 *    preloaded weights W, then for i < C_rows, j < C_cols:
 *      C[i][j] (+)= D[i][j] + sum_k A[i][k] * W[k][j]     (int32, wrapping)
 *    A and D are scratchpad operands (garbage = zeros), zero outside their
 *    rows x cols. C in the accumulator overwrites, or adds with bit 30; C in the
 *    scratchpad stores the result saturated to int8; garbage C drops it.
 *  - compute_accumulated(...): the same with the weights already in the array
 *    (the preload's B operand is ignored).
 *  - mvout(dram, local, cols, rows): rows <= DIM, cols <= DIM*EMU_MAX_BLOCKS_MVOUT.
 *    From the scratchpad: raw int8. From the accumulator with bit 29 clear: int8 =
 *    ReLU?(saturate(round_half_even(float32(acc) * scale))); with bit 29: raw int32.
 *  - fence(): no-op (the emulator is synchronous).
 *  - loop_ws(I, J, K, pad_I, pad_J, pad_K, A, B, D, C, A_stride, B_stride, D_stride,
 *    C_stride, A_transpose, B_transpose, full_C, low_D, ex_accumulate, act):
 *    the on-chip tiled matmul. I, J, K count DIM-blocks (>= 1); pad_X (0..DIM-1)
 *    is how many elements of the last block are padding, so the matrices are
 *      M = I*DIM - pad_I rows, N = J*DIM - pad_J columns, L = K*DIM - pad_K inner.
 *    A, B, D, C are DRAM addresses; the strides count ELEMENTS of each matrix's own
 *    type between consecutive rows.
 *      A (int8): A[m][l] at A + m*A_stride + l; transposed: A + l*A_stride + m.
 *      B (int8): B[l][n] at B + l*B_stride + n; transposed: B + n*B_stride + l.
 *      D (bias, optional; 0 = none): int32 (int8 when low_D) D + m*D_stride + n;
 *        D_stride 0 repeats one bias row.
 *      C (optional; 0 = no store): int8 scaled with config_st's scale and this
 *        instruction's act (0 none, 1 ReLU), or raw int32 when full_C;
 *        C + m*C_stride + n.
 *    The loop keeps its result tile in an accumulator region R of I*J*DIM rows:
 *      R = (D ? D : R_before) ;  R = (ex_accumulate ? R : 0) + A @ B
 *    (so a bias D is only kept when ex_accumulate is set, as in hardware), then C
 *    is written from R when C != 0. R starts at row 0 or ACC_ROWS/2: the half
 *    flips after every loop_ws whose C != 0, so a chain of loop_ws over K tiles with
 *    C = 0 and ex_accumulate = 1 accumulates in place (the vendor library's use).
 *    Scratchpad use: loop number n (counting every loop_ws) uses half h = n % 2 of
 *    the scratchpad, A's blocks from its first row and B's blocks ending DIM rows
 *    before its end; these rows are overwritten. Limits (errors otherwise):
 *      (I*K + K*J) * DIM <= SP_ROWS/2 - DIM   and   I*J*DIM <= ACC_ROWS/2.
 *    DRAM row strides come from the operands, not from config_ld; the scale of
 *    the loads is 1. Instruction counts record one loop_ws (not its expansion).
 */
#ifndef AUTOCOMP_GEMMINI_EMULATOR_H
#define AUTOCOMP_GEMMINI_EMULATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef DIM
#define DIM 16
#endif
#ifndef EMU_SP_ROWS
#define EMU_SP_ROWS 16384
#endif
#ifndef EMU_SP_BANKS
#define EMU_SP_BANKS 4
#endif
#ifndef EMU_ACC_ROWS
#define EMU_ACC_ROWS 1024
#endif
#ifndef EMU_ACC_BANKS
#define EMU_ACC_BANKS 2
#endif
#ifndef EMU_MAX_BLOCKS_SP
#define EMU_MAX_BLOCKS_SP 4
#endif
#ifndef EMU_MAX_BLOCKS_ACC
#define EMU_MAX_BLOCKS_ACC 1
#endif
#ifndef EMU_MAX_BLOCKS_MVOUT
#define EMU_MAX_BLOCKS_MVOUT 1
#endif

/* The names gemmini_params.h gives these numbers. */
#define BANK_NUM EMU_SP_BANKS
#define BANK_ROWS (EMU_SP_ROWS / EMU_SP_BANKS)
#define ACC_ROWS EMU_ACC_ROWS
#define MAX_BLOCK_LEN EMU_MAX_BLOCKS_SP
#define MAX_BLOCK_LEN_ACC EMU_MAX_BLOCKS_ACC

#ifndef EMU_FLOAT
#define EMU_FLOAT 0
#endif

#if EMU_FLOAT
typedef float elem_t;
typedef float acc_t;
typedef double full_t;
#define elem_t_max 3.4028234664e+38f
#define elem_t_min (-3.4028234664e+38f)
#else
typedef int8_t elem_t;
typedef int32_t acc_t;
typedef int64_t full_t;
#define elem_t_max 127
#define elem_t_min (-128)
#endif
typedef float scale_t;
typedef float scale_acc_t;
typedef float acc_scale_t;

#define OUTPUT_STATIONARY 0
#define WEIGHT_STATIONARY 1
#define OS 0
#define WS 1
#define NO_ACTIVATION 0
#define RELU 1
#define GARBAGE_ADDR ((uint32_t)0xFFFFFFFFu)

/* ---- the emulator's entry points (emulator.c) ---- */
void emu_config_ex(int line, long dataflow, long act, long shift, long a_stride,
                   long a_transpose, long b_transpose);
void emu_config_ld(int line, long stride_bytes, float scale, long shrunk,
                   long block_stride, long id);
void emu_config_st(int line, long stride_bytes, long act, float scale);
void emu_mvin(int line, int id, uint64_t dram, uint32_t local, long cols, long rows);
void emu_mvout(int line, uint64_t dram, uint32_t local, long cols, long rows);
void emu_preload(int line, uint32_t b, uint32_t c, long b_cols, long b_rows,
                 long c_cols, long c_rows);
void emu_compute(int line, int preloaded, uint32_t a, uint32_t d, long a_cols,
                 long a_rows, long d_cols, long d_rows);
void emu_fence(int line);
void emu_loop_ws(int line, long I, long J, long K, long pad_I, long pad_J, long pad_K,
                 uint64_t A, uint64_t B, uint64_t D, uint64_t C, long A_stride,
                 long B_stride, long D_stride, long C_stride, long A_transpose,
                 long B_transpose, long full_C, long low_D, long ex_accumulate, long act);
acc_t emu_acc_scale(acc_t x, float scale);

/* Harness side: reset, DRAM bounds, errors, counters, raw memory views. */
void emu_reset(int sp_fill, int32_t acc_fill);
int emu_register_dram(const void *base, size_t bytes);
const char *emu_error(void);
uint64_t emu_count(int op);
int emu_num_ops(void);
const char *emu_op_name(int op);
elem_t *emu_scratchpad(void);
acc_t *emu_accumulator(void);

/* ---- long (gemmini.h) spellings ---- */
#define gemmini_extended_config_ex(df, act, shift, A_stride, A_T, B_T) \
  emu_config_ex(__LINE__, (long)(df), (long)(act), (long)(shift), (long)(A_stride), \
                (long)(A_T), (long)(B_T))
#define gemmini_extended3_config_ld(stride, scale, shrunk, id) \
  emu_config_ld(__LINE__, (long)(stride), (float)(scale), (long)(shrunk), -1, (long)(id))
#define gemmini_extended4_config_ld(stride, scale, shrunk, block_stride, id) \
  emu_config_ld(__LINE__, (long)(stride), (float)(scale), (long)(shrunk), \
                (long)(block_stride), (long)(id))
#define gemmini_extended_config_st(stride, act, scale) \
  emu_config_st(__LINE__, (long)(stride), (long)(act), (float)(scale))
#define gemmini_extended_mvin(dram, local, cols, rows) \
  emu_mvin(__LINE__, 0, (uint64_t)(dram), (uint32_t)(uint64_t)(local), (long)(cols), (long)(rows))
#define gemmini_extended_mvin2(dram, local, cols, rows) \
  emu_mvin(__LINE__, 1, (uint64_t)(dram), (uint32_t)(uint64_t)(local), (long)(cols), (long)(rows))
#define gemmini_extended_mvin3(dram, local, cols, rows) \
  emu_mvin(__LINE__, 2, (uint64_t)(dram), (uint32_t)(uint64_t)(local), (long)(cols), (long)(rows))
#define gemmini_extended_mvout(dram, local, cols, rows) \
  emu_mvout(__LINE__, (uint64_t)(dram), (uint32_t)(uint64_t)(local), (long)(cols), (long)(rows))
#define gemmini_extended_preload(B, C, B_cols, B_rows, C_cols, C_rows) \
  emu_preload(__LINE__, (uint32_t)(uint64_t)(B), (uint32_t)(uint64_t)(C), (long)(B_cols), \
              (long)(B_rows), (long)(C_cols), (long)(C_rows))
#define gemmini_extended_compute_preloaded(A, D, A_cols, A_rows, D_cols, D_rows) \
  emu_compute(__LINE__, 1, (uint32_t)(uint64_t)(A), (uint32_t)(uint64_t)(D), (long)(A_cols), \
              (long)(A_rows), (long)(D_cols), (long)(D_rows))
#define gemmini_extended_compute_accumulated(A, D, A_cols, A_rows, D_cols, D_rows) \
  emu_compute(__LINE__, 0, (uint32_t)(uint64_t)(A), (uint32_t)(uint64_t)(D), (long)(A_cols), \
              (long)(A_rows), (long)(D_cols), (long)(D_rows))
#define gemmini_fence() emu_fence(__LINE__)
#define gemmini_flush(skip) emu_fence(__LINE__)
#define gemmini_loop_ws(I, J, K, pI, pJ, pK, A, B, D, C, As, Bs, Ds, Cs, AT, BT, fC, lD, exa, act) \
  emu_loop_ws(__LINE__, (long)(I), (long)(J), (long)(K), (long)(pI), (long)(pJ), (long)(pK), \
              (uint64_t)(A), (uint64_t)(B), (uint64_t)(D), (uint64_t)(C), (long)(As), \
              (long)(Bs), (long)(Ds), (long)(Cs), (long)(AT), (long)(BT), (long)(fC), \
              (long)(lD), (long)(exa), (long)(act))

#define ACC_SCALE(x, scale) emu_acc_scale((acc_t)(x), (float)(scale))

/* ---- short (compact-dialect) spellings, with the arities of gemmini/isa.py ---- */
#ifndef GEMMINI_EMU_NO_SHORT_NAMES
#define EMU_CAT_(a, b) a##b
#define EMU_CAT(a, b) EMU_CAT_(a, b)
#define EMU_NARGS_(_1, _2, _3, _4, _5, _6, _7, _8, N, ...) N
#define EMU_NARGS(...) EMU_NARGS_(__VA_ARGS__, 8, 7, 6, 5, 4, 3, 2, 1, 0)

#define config_ex(...) EMU_CAT(emu_config_ex_, EMU_NARGS(__VA_ARGS__))(__VA_ARGS__)
#define emu_config_ex_5(df, act, A_stride, A_T, B_T) \
  gemmini_extended_config_ex(df, act, 0, A_stride, A_T, B_T)
#define emu_config_ex_6(df, act, shift, A_stride, A_T, B_T) \
  gemmini_extended_config_ex(df, act, shift, A_stride, A_T, B_T)

#define config_ld(...) EMU_CAT(emu_config_ld_, EMU_NARGS(__VA_ARGS__))(__VA_ARGS__)
#define emu_config_ld_1(stride) emu_config_ld(__LINE__, (long)(stride), 1.0f, 0, -1, 0)
#define emu_config_ld_2(stride, scale) emu_config_ld(__LINE__, (long)(stride), (float)(scale), 0, -1, 0)
#define emu_config_ld_3(stride, scale, id) \
  emu_config_ld(__LINE__, (long)(stride), (float)(scale), 0, -1, (long)(id))
#define emu_config_ld_4(stride, scale, block_stride, id) \
  emu_config_ld(__LINE__, (long)(stride), (float)(scale), 0, (long)(block_stride), (long)(id))

#define config_st(...) EMU_CAT(emu_config_st_, EMU_NARGS(__VA_ARGS__))(__VA_ARGS__)
#define emu_config_st_1(stride) gemmini_extended_config_st(stride, 0, 1.0f)
#define emu_config_st_2(stride, act) gemmini_extended_config_st(stride, act, 1.0f)
#define emu_config_st_3(stride, act, scale) gemmini_extended_config_st(stride, act, scale)

#define mvin(dram, local, cols, rows) gemmini_extended_mvin(dram, local, cols, rows)
#define mvin2(dram, local, cols, rows) gemmini_extended_mvin2(dram, local, cols, rows)
#define mvin3(dram, local, cols, rows) gemmini_extended_mvin3(dram, local, cols, rows)
#define mvout(dram, local, cols, rows) gemmini_extended_mvout(dram, local, cols, rows)
#define preload(B, C, B_cols, B_rows, C_cols, C_rows) \
  gemmini_extended_preload(B, C, B_cols, B_rows, C_cols, C_rows)
#define compute_preloaded(A, D, A_cols, A_rows, D_cols, D_rows) \
  gemmini_extended_compute_preloaded(A, D, A_cols, A_rows, D_cols, D_rows)
#define compute_accumulated(A, D, A_cols, A_rows, D_cols, D_rows) \
  gemmini_extended_compute_accumulated(A, D, A_cols, A_rows, D_cols, D_rows)
#define fence() gemmini_fence()
#define loop_ws(...) gemmini_loop_ws(__VA_ARGS__)
#endif /* GEMMINI_EMU_NO_SHORT_NAMES */

#endif /* AUTOCOMP_GEMMINI_EMULATOR_H */
