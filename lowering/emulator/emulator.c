/* Functional Gemmini emulator: the state and instruction semantics behind gemmini.h.
 * Semantics are documented in gemmini.h. Element types are elem_t / acc_t (int8 /
 * int32, or float32 / float32 with EMU_FLOAT); the few operations that differ between
 * the two live in the "arithmetic" section. Integer accumulator arithmetic is done on
 * uint32_t so that int32 overflow wraps without undefined behaviour.
 */
#include "gemmini.h"

#include <fenv.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ACC_BIT 0x80000000u
#define ACCUMULATE_BIT 0x40000000u
#define RAW_READ_BIT 0x20000000u
#define ROW_MASK 0x1FFFFFFFu
#define MAX_DRAM_REGIONS 64

/* The array's operand and partial-sum type. */
#if EMU_FLOAT
typedef float op_t;
#else
typedef int32_t op_t;
#endif

enum { OP_CONFIG_EX, OP_CONFIG_LD, OP_CONFIG_ST, OP_MVIN, OP_MVIN2, OP_MVIN3, OP_MVOUT,
       OP_PRELOAD, OP_COMPUTE_PRELOADED, OP_COMPUTE_ACCUMULATED, OP_FENCE, OP_LOOP_WS,
       N_OPS };
static const char *const OP_NAMES[N_OPS] = {
    "config_ex", "config_ld", "config_st", "mvin", "mvin2", "mvin3", "mvout",
    "preload", "compute_preloaded", "compute_accumulated", "fence", "loop_ws"};

typedef struct {
  long stride;        /* bytes between DRAM rows */
  float scale;
  long shrunk;
  long block_stride;  /* rows between the DIM-column blocks of one mvin */
} LoadConfig;

typedef struct {
  elem_t sp[EMU_SP_ROWS][DIM];
  acc_t acc[EMU_ACC_ROWS][DIM];
  LoadConfig ld[3];
  long st_stride;
  long st_act;
  float st_scale;
  long ex_dataflow, ex_a_stride, ex_a_transpose, ex_b_transpose;
  op_t weights[DIM][DIM];  /* weights held in the array */
  int have_preload;
  uint32_t pre_b, pre_c;
  long pre_b_cols, pre_b_rows, pre_c_cols, pre_c_rows;
  unsigned loop_count;   /* loop_ws issued so far: picks the scratchpad half */
  unsigned loop_acc_half;
  const char *dram_base[MAX_DRAM_REGIONS];
  size_t dram_bytes[MAX_DRAM_REGIONS];
  int n_dram;
  int failed;
  char error[512];
  uint64_t counts[N_OPS];
} Emu;

static Emu emu;

/* ------------------------------------------------------------------------- */
/* errors, checks                                                            */
/* ------------------------------------------------------------------------- */

static int fail(int line, int op, const char *fmt, ...) {
  if (emu.failed) return 0;
  emu.failed = 1;
  int n = snprintf(emu.error, sizeof emu.error, "line %d: %s: ", line, OP_NAMES[op]);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(emu.error + n, sizeof emu.error - (size_t)n, fmt, ap);
  va_end(ap);
  return 0;
}

static int begin(int op) {
  if (emu.failed) return 0;
  emu.counts[op]++;
  return 1;
}

static int dram_ok(int line, int op, uint64_t addr, uint64_t bytes) {
  if (emu.n_dram == 0 || bytes == 0) return 1;
  for (int i = 0; i < emu.n_dram; i++) {
    uint64_t lo = (uint64_t)(uintptr_t)emu.dram_base[i];
    if (addr >= lo && addr + bytes <= lo + emu.dram_bytes[i]) return 1;
  }
  return fail(line, op, "DRAM access of %llu bytes at 0x%llx is outside every array",
              (unsigned long long)bytes, (unsigned long long)addr);
}

/* Rows [row, row + n) of the scratchpad (is_acc = 0) or the accumulator. */
static int rows_ok(int line, int op, const char *what, int is_acc, uint64_t row, uint64_t n) {
  uint64_t cap = is_acc ? EMU_ACC_ROWS : EMU_SP_ROWS;
  if (row + n <= cap) return 1;
  return fail(line, op, "%s rows %llu..%llu are outside the %s (%llu rows)", what,
              (unsigned long long)row, (unsigned long long)(row + n - 1),
              is_acc ? "accumulator" : "scratchpad", (unsigned long long)cap);
}

static int dims_ok(int line, int op, const char *what, long cols, long rows, long max_cols) {
  if (rows < 1 || rows > DIM)
    return fail(line, op, "%s rows = %ld, must be 1..%d", what, rows, DIM);
  if (cols < 1 || cols > max_cols)
    return fail(line, op, "%s cols = %ld, must be 1..%ld", what, cols, max_cols);
  return 1;
}

/* ------------------------------------------------------------------------- */
/* arithmetic                                                                */
/* ------------------------------------------------------------------------- */

static int32_t wrap_add(int32_t a, int32_t b) {
  return (int32_t)((uint32_t)a + (uint32_t)b);
}

static int32_t wrap_mul(int32_t a, int32_t b) {
  return (int32_t)((uint32_t)a * (uint32_t)b);
}

/* float32 multiply, round half to even, saturate to [lo, hi]. */
static int64_t scale_round_sat(int64_t x, float scale, int64_t lo, int64_t hi) {
  float y = nearbyintf((float)x * scale);
  if (isnan(y)) return 0;
  if (y >= (float)hi) return hi;
  if (y <= (float)lo) return lo;
  return (int64_t)y;
}

_Static_assert(sizeof(acc_t) == sizeof(int32_t), "the accumulator fill is 32 bits");

#if EMU_FLOAT
/* float32: scaling multiplies, sums add, no rounding to integers, no saturation. */
acc_t emu_acc_scale(acc_t x, float scale) { return x * scale; }
static elem_t load_to_sp(op_t v, float scale) { return scale == 1.0f ? v : v * scale; }
static acc_t load_to_acc(op_t v, float scale) { return scale == 1.0f ? v : v * scale; }
static acc_t acc_add(acc_t a, acc_t b) { return a + b; }
static op_t mac(op_t s, op_t a, op_t w) {
  op_t p = a * w;   /* rounded on its own: no fused multiply-add */
  return s + p;
}
static elem_t sum_to_sp(op_t s) { return s; }
static elem_t store_scale(acc_t x, float scale) { return x * scale; }
#else
static elem_t sat8(int32_t x) {
  return (elem_t)(x > elem_t_max ? elem_t_max : (x < elem_t_min ? elem_t_min : x));
}

acc_t emu_acc_scale(acc_t x, float scale) {
  return (acc_t)scale_round_sat(x, scale, INT32_MIN, INT32_MAX);
}
static elem_t load_to_sp(op_t v, float scale) {
  return (elem_t)(scale == 1.0f ? v : scale_round_sat(v, scale, elem_t_min, elem_t_max));
}
static acc_t load_to_acc(op_t v, float scale) {
  return (acc_t)(scale == 1.0f ? v : scale_round_sat(v, scale, INT32_MIN, INT32_MAX));
}
static acc_t acc_add(acc_t a, acc_t b) { return wrap_add(a, b); }
static op_t mac(op_t s, op_t a, op_t w) { return wrap_add(s, wrap_mul(a, w)); }
static elem_t sum_to_sp(op_t s) { return sat8(s); }
static elem_t store_scale(acc_t x, float scale) {
  return (elem_t)scale_round_sat(x, scale, elem_t_min, elem_t_max);
}
#endif

/* One element of DRAM: of the accumulator type when `wide`, else of the input type. */
static size_t elem_bytes(int wide) { return wide ? sizeof(acc_t) : sizeof(elem_t); }

static op_t read_dram(const char *p, int wide) {
  if (wide) {
    acc_t t;
    memcpy(&t, p, sizeof t);
    return (op_t)t;
  }
  elem_t t;
  memcpy(&t, p, sizeof t);
  return (op_t)t;
}

/* ------------------------------------------------------------------------- */
/* core data movement (shared by the instructions and loop_ws)              */
/* ------------------------------------------------------------------------- */

/* DRAM -> local. Element (r, c) (of acc_t when `wide`, else elem_t; eb bytes) is read
 * at dram + r*stride + c*eb, or, when `transpose`, at dram + c*stride + r*eb. */
static void core_mvin(int line, int op, uint64_t dram, uint32_t local, long cols, long rows,
                      long stride, float scale, int wide, long block_stride, int transpose) {
  long eb = (long)elem_bytes(wide);
  int is_acc = (local & ACC_BIT) != 0;
  int accumulate = is_acc && (local & ACCUMULATE_BIT);
  uint64_t row0 = local & ROW_MASK;
  long blocks = (cols + DIM - 1) / DIM;
  for (long b = 0; b < blocks; b++)
    if (!rows_ok(line, op, "destination", is_acc, row0 + (uint64_t)(b * block_stride), (uint64_t)rows))
      return;
  if (dram != 0) {
    for (long r = 0; r < rows; r++) {
      uint64_t first = transpose ? dram + (uint64_t)(r * eb) : dram + (uint64_t)(r * stride);
      uint64_t span = transpose ? (uint64_t)((cols - 1) * stride + eb) : (uint64_t)(cols * eb);
      if (!dram_ok(line, op, first, span)) return;
    }
  }
  for (long r = 0; r < rows; r++) {
    for (long c = 0; c < cols; c++) {
      uint64_t row = row0 + (uint64_t)r + (uint64_t)((c / DIM) * block_stride);
      long col = c % DIM;
      if (dram == 0) {     /* zeros, unscaled */
        if (is_acc)
          emu.acc[row][col] = accumulate ? acc_add(emu.acc[row][col], 0) : 0;
        else
          emu.sp[row][col] = 0;
        continue;
      }
      const char *p = (const char *)(uintptr_t)(transpose ? dram + (uint64_t)(c * stride + r * eb)
                                                          : dram + (uint64_t)(r * stride + c * eb));
      op_t v = read_dram(p, wide);
      if (is_acc) {
        acc_t x = load_to_acc(v, scale);
        emu.acc[row][col] = accumulate ? acc_add(emu.acc[row][col], x) : x;
      } else {
        emu.sp[row][col] = load_to_sp(v, scale);
      }
    }
  }
}

/* local -> DRAM. */
static void core_mvout(int line, int op, uint64_t dram, uint32_t local, long cols, long rows,
                       long stride, float scale, long act) {
  int is_acc = (local & ACC_BIT) != 0;
  int raw = is_acc && (local & RAW_READ_BIT);
  uint64_t row0 = local & ROW_MASK;
  long eb = (long)elem_bytes(raw);
  if (!rows_ok(line, op, "source", is_acc, row0, (uint64_t)rows)) return;
  for (long r = 0; r < rows; r++)
    if (!dram_ok(line, op, dram + (uint64_t)(r * stride), (uint64_t)(cols * eb))) return;
  for (long r = 0; r < rows; r++) {
    char *p = (char *)(uintptr_t)(dram + (uint64_t)(r * stride));
    for (long c = 0; c < cols; c++) {
      if (!is_acc) {
        memcpy(p + eb * c, &emu.sp[row0 + r][c], sizeof(elem_t));
      } else if (raw) {
        memcpy(p + eb * c, &emu.acc[row0 + r][c], sizeof(acc_t));
      } else {
        elem_t v = store_scale(emu.acc[row0 + r][c], scale);
        if (act == RELU && v < 0) v = 0;
        memcpy(p + eb * c, &v, sizeof v);
      }
    }
  }
}

/* Reads a rows x cols operand (zero padded to DIM x DIM) from the scratchpad,
 * rows `step` apart. Garbage = zeros. */
static int read_operand(int line, int op, const char *what, uint32_t addr, long cols, long rows,
                        long step, op_t out[DIM][DIM]) {
  memset(out, 0, sizeof(op_t) * DIM * DIM);
  if (addr == GARBAGE_ADDR) return 1;
  if (addr & ACC_BIT)
    return fail(line, op, "%s operand 0x%08x is an accumulator address; it must be in the "
                "scratchpad", what, addr);
  if (!dims_ok(line, op, what, cols, rows, DIM)) return 0;
  uint64_t row0 = addr & ROW_MASK;
  if (!rows_ok(line, op, what, 0, row0, (uint64_t)((rows - 1) * step + 1))) return 0;
  for (long r = 0; r < rows; r++)
    for (long c = 0; c < cols; c++) out[r][c] = emu.sp[row0 + (uint64_t)(r * step)][c];
  return 1;
}

/* The array computes with `emu.weights` and writes to the preloaded C. */
static void core_compute(int line, int op, int preloaded, uint32_t a, uint32_t d, long a_cols,
                         long a_rows, long d_cols, long d_rows, long a_step, int b_transpose) {
  op_t A[DIM][DIM], D[DIM][DIM];
  if (!emu.have_preload) {
    fail(line, op, "no preload since the previous compute names its destination");
    return;
  }
  emu.have_preload = 0;
  if (preloaded && b_transpose) {
    /* B_cols stored rows of B_rows elements; the weights are their transpose */
    op_t stored[DIM][DIM];
    if (!read_operand(line, op, "B (preloaded, transposed)", emu.pre_b, emu.pre_b_rows,
                      emu.pre_b_cols, 1, stored))
      return;
    for (long k = 0; k < DIM; k++)
      for (long j = 0; j < DIM; j++) emu.weights[k][j] = stored[j][k];
  } else if (preloaded &&
      !read_operand(line, op, "B (preloaded)", emu.pre_b, emu.pre_b_cols, emu.pre_b_rows, 1, emu.weights))
    return;
  if (!read_operand(line, op, "A", a, a_cols, a_rows, a_step, A)) return;
  if (!read_operand(line, op, "D", d, d_cols, d_rows, 1, D)) return;
  uint32_t c = emu.pre_c;
  if (c == GARBAGE_ADDR) return;
  int is_acc = (c & ACC_BIT) != 0;
  int accumulate = is_acc && (c & ACCUMULATE_BIT);
  uint64_t row0 = c & ROW_MASK;
  if (!rows_ok(line, op, "C (preloaded)", is_acc, row0, (uint64_t)emu.pre_c_rows)) return;
  for (long i = 0; i < emu.pre_c_rows; i++) {
    for (long j = 0; j < emu.pre_c_cols; j++) {
      op_t s = D[i][j];
      for (long k = 0; k < DIM; k++) s = mac(s, A[i][k], emu.weights[k][j]);
      if (!is_acc)
        emu.sp[row0 + i][j] = sum_to_sp(s);
      else
        emu.acc[row0 + i][j] = accumulate ? acc_add(emu.acc[row0 + i][j], (acc_t)s) : (acc_t)s;
    }
  }
}

static void core_preload(uint32_t b, uint32_t c, long b_cols, long b_rows, long c_cols, long c_rows) {
  emu.have_preload = 1;
  emu.pre_b = b;
  emu.pre_c = c;
  emu.pre_b_cols = b_cols;
  emu.pre_b_rows = b_rows;
  emu.pre_c_cols = c_cols;
  emu.pre_c_rows = c_rows;
}

/* ------------------------------------------------------------------------- */
/* instructions                                                              */
/* ------------------------------------------------------------------------- */

void emu_config_ex(int line, long dataflow, long act, long shift, long a_stride,
                   long a_transpose, long b_transpose) {
  (void)act;
  if (!begin(OP_CONFIG_EX)) return;
  if (dataflow != WS) {
    fail(line, OP_CONFIG_EX, "dataflow %ld: only WS (1) is emulated", dataflow);
    return;
  }
  if (shift != 0) {
    fail(line, OP_CONFIG_EX, "shift %ld: only 0 is emulated", shift);
    return;
  }
  if (a_stride < 1) {
    fail(line, OP_CONFIG_EX, "A_stride %ld must be >= 1", a_stride);
    return;
  }
  emu.ex_dataflow = dataflow;
  emu.ex_a_stride = a_stride;
  emu.ex_a_transpose = a_transpose;
  emu.ex_b_transpose = b_transpose;
}

void emu_config_ld(int line, long stride_bytes, float scale, long shrunk, long block_stride,
                   long id) {
  if (!begin(OP_CONFIG_LD)) return;
  if (id < 0 || id > 2) {
    fail(line, OP_CONFIG_LD, "id %ld must be 0, 1 or 2", id);
    return;
  }
  if (stride_bytes < 0) {
    fail(line, OP_CONFIG_LD, "negative stride %ld", stride_bytes);
    return;
  }
  emu.ld[id].stride = stride_bytes;
  emu.ld[id].scale = scale;
  emu.ld[id].shrunk = shrunk;
  emu.ld[id].block_stride = block_stride < 0 ? DIM : block_stride;
}

void emu_config_st(int line, long stride_bytes, long act, float scale) {
  if (!begin(OP_CONFIG_ST)) return;
  if (act != NO_ACTIVATION && act != RELU) {
    fail(line, OP_CONFIG_ST, "activation %ld: only 0 (none) and 1 (ReLU) are emulated", act);
    return;
  }
  if (stride_bytes < 0) {
    fail(line, OP_CONFIG_ST, "negative stride %ld", stride_bytes);
    return;
  }
  emu.st_stride = stride_bytes;
  emu.st_act = act;
  emu.st_scale = scale;
}

void emu_mvin(int line, int id, uint64_t dram, uint32_t local, long cols, long rows) {
  int op = OP_MVIN + id;
  if (!begin(op)) return;
  if (local == GARBAGE_ADDR) {
    fail(line, op, "destination is the garbage address");
    return;
  }
  int is_acc = (local & ACC_BIT) != 0;
  long max_cols = DIM * (long)(is_acc ? EMU_MAX_BLOCKS_ACC : EMU_MAX_BLOCKS_SP);
  if (!dims_ok(line, op, "transfer", cols, rows, max_cols)) return;
  LoadConfig *cfg = &emu.ld[id];
  core_mvin(line, op, dram, local, cols, rows, cfg->stride, cfg->scale, is_acc && !cfg->shrunk,
            cfg->block_stride, 0);
}

void emu_mvout(int line, uint64_t dram, uint32_t local, long cols, long rows) {
  if (!begin(OP_MVOUT)) return;
  if (local == GARBAGE_ADDR) {
    fail(line, OP_MVOUT, "source is the garbage address");
    return;
  }
  if (dram == 0) {
    fail(line, OP_MVOUT, "DRAM address is 0");
    return;
  }
  if (!dims_ok(line, OP_MVOUT, "transfer", cols, rows, DIM * (long)EMU_MAX_BLOCKS_MVOUT)) return;
  core_mvout(line, OP_MVOUT, dram, local, cols, rows, emu.st_stride, emu.st_scale, emu.st_act);
}

void emu_preload(int line, uint32_t b, uint32_t c, long b_cols, long b_rows, long c_cols,
                 long c_rows) {
  if (!begin(OP_PRELOAD)) return;
  if (b != GARBAGE_ADDR && !dims_ok(line, OP_PRELOAD, "B", b_cols, b_rows, DIM)) return;
  if (c != GARBAGE_ADDR && !dims_ok(line, OP_PRELOAD, "C", c_cols, c_rows, DIM)) return;
  core_preload(b, c, b_cols, b_rows, c_cols, c_rows);
}

void emu_compute(int line, int preloaded, uint32_t a, uint32_t d, long a_cols, long a_rows,
                 long d_cols, long d_rows) {
  int op = preloaded ? OP_COMPUTE_PRELOADED : OP_COMPUTE_ACCUMULATED;
  if (!begin(op)) return;
  if (emu.ex_dataflow != WS) {
    fail(line, op, "no config_ex(WS, ...) before the first compute");
    return;
  }
  if (emu.ex_a_transpose) {
    fail(line, op, "config_ex's A transpose is only emulated inside loop_ws");
    return;
  }
  core_compute(line, op, preloaded, a, d, a_cols, a_rows, d_cols, d_rows, emu.ex_a_stride,
               (int)emu.ex_b_transpose);
}

void emu_fence(int line) {
  (void)line;
  begin(OP_FENCE);
}

static long last_block(long n_blocks, long idx, long pad) {
  return DIM - (idx == n_blocks - 1 ? pad : 0);
}

void emu_loop_ws(int line, long I, long J, long K, long pad_I, long pad_J, long pad_K,
                 uint64_t A, uint64_t B, uint64_t D, uint64_t C, long A_stride, long B_stride,
                 long D_stride, long C_stride, long A_transpose, long B_transpose, long full_C,
                 long low_D, long ex_accumulate, long act) {
  const int op = OP_LOOP_WS;
  if (!begin(op)) return;
  if (I < 1 || J < 1 || K < 1) {
    fail(line, op, "I, J, K = %ld, %ld, %ld: each must be >= 1 block", I, J, K);
    return;
  }
  if (pad_I < 0 || pad_I >= DIM || pad_J < 0 || pad_J >= DIM || pad_K < 0 || pad_K >= DIM) {
    fail(line, op, "pads %ld, %ld, %ld must be 0..%d", pad_I, pad_J, pad_K, DIM - 1);
    return;
  }
  if (A == 0 || B == 0) {
    fail(line, op, "A and B must be DRAM addresses");
    return;
  }
  if (A_stride < 1 || B_stride < 1 || D_stride < 0 || (C != 0 && C_stride < 1)) {
    fail(line, op, "bad strides A %ld, B %ld, D %ld, C %ld", A_stride, B_stride, D_stride, C_stride);
    return;
  }
  if (act != NO_ACTIVATION && act != RELU) {
    fail(line, op, "activation %ld: only 0 (none) and 1 (ReLU) are emulated", act);
    return;
  }
  long half_sp = EMU_SP_ROWS / 2, half_acc = EMU_ACC_ROWS / 2;
  long a_rows = I * K * DIM, b_rows = K * J * DIM, c_rows = I * J * DIM;
  if (a_rows + b_rows > half_sp - DIM) {
    fail(line, op, "A and B tiles need %ld scratchpad rows; the loop has %ld", a_rows + b_rows,
         half_sp - DIM);
    return;
  }
  if (c_rows > half_acc) {
    fail(line, op, "C tile needs %ld accumulator rows; the loop has %ld", c_rows, half_acc);
    return;
  }
  const long ea = (long)sizeof(elem_t);   /* bytes of an A / B element */
  unsigned h = emu.loop_count++ % 2;
  uint32_t a_start = (uint32_t)(h * half_sp);
  uint32_t b_start = (uint32_t)((h + 1) * half_sp - DIM - b_rows);
  uint32_t c_start = ACC_BIT | (uint32_t)(emu.loop_acc_half * half_acc);

  for (long i = 0; i < I && !emu.failed; i++)
    for (long k = 0; k < K && !emu.failed; k++) {
      long rows = last_block(I, i, pad_I), cols = last_block(K, k, pad_K);
      uint64_t src = A_transpose ? A + (uint64_t)((k * DIM * A_stride + i * DIM) * ea)
                                 : A + (uint64_t)((i * DIM * A_stride + k * DIM) * ea);
      core_mvin(line, op, src, a_start + (uint32_t)((i * K + k) * DIM), cols, rows, A_stride * ea,
                1.0f, 0, DIM, (int)A_transpose);
    }
  for (long k = 0; k < K && !emu.failed; k++)
    for (long j = 0; j < J && !emu.failed; j++) {
      long rows = last_block(K, k, pad_K), cols = last_block(J, j, pad_J);
      uint64_t src = B_transpose ? B + (uint64_t)((j * DIM * B_stride + k * DIM) * ea)
                                 : B + (uint64_t)((k * DIM * B_stride + j * DIM) * ea);
      core_mvin(line, op, src, b_start + (uint32_t)((k * J + j) * DIM), cols, rows, B_stride * ea,
                1.0f, 0, DIM, (int)B_transpose);
    }
  if (D != 0) {
    long eb = (long)elem_bytes(!low_D);
    for (long i = 0; i < I && !emu.failed; i++)
      for (long j = 0; j < J && !emu.failed; j++) {
        uint64_t src = D + (uint64_t)((i * DIM * D_stride + j * DIM) * eb);
        core_mvin(line, op, src, c_start + (uint32_t)((i * J + j) * DIM), last_block(J, j, pad_J),
                  last_block(I, i, pad_I), D_stride * eb, 1.0f, !low_D, DIM, 0);
      }
  }
  for (long k = 0; k < K && !emu.failed; k++)
    for (long j = 0; j < J && !emu.failed; j++)
      for (long i = 0; i < I && !emu.failed; i++) {
        long rows_i = last_block(I, i, pad_I), cols_j = last_block(J, j, pad_J);
        long cols_k = last_block(K, k, pad_K);
        uint32_t c = c_start + (uint32_t)((i * J + j) * DIM);
        if (ex_accumulate || k > 0) c |= ACCUMULATE_BIT;
        core_preload(i == 0 ? b_start + (uint32_t)((k * J + j) * DIM) : GARBAGE_ADDR, c, cols_j,
                     cols_k, cols_j, rows_i);
        core_compute(line, op, i == 0, a_start + (uint32_t)((i * K + k) * DIM), GARBAGE_ADDR, cols_k,
                     rows_i, DIM, DIM, 1, 0);
      }
  if (C != 0) {
    long eb = (long)elem_bytes((int)full_C);
    for (long i = 0; i < I && !emu.failed; i++)
      for (long j = 0; j < J && !emu.failed; j++) {
        uint32_t src = (c_start + (uint32_t)((i * J + j) * DIM)) | (full_C ? RAW_READ_BIT : 0);
        core_mvout(line, op, C + (uint64_t)((i * DIM * C_stride + j * DIM) * eb), src,
                   last_block(J, j, pad_J), last_block(I, i, pad_I), C_stride * eb, emu.st_scale, act);
      }
    emu.loop_acc_half ^= 1u;
  }
}

/* ------------------------------------------------------------------------- */
/* harness                                                                   */
/* ------------------------------------------------------------------------- */

void emu_reset(int sp_fill, int32_t acc_fill) {
  memset(&emu, 0, sizeof emu);
  memset(emu.sp, sp_fill, sizeof emu.sp);
  for (long r = 0; r < EMU_ACC_ROWS; r++)   /* the fill's bits, whatever acc_t is */
    for (long c = 0; c < DIM; c++) memcpy(&emu.acc[r][c], &acc_fill, sizeof acc_fill);
  for (int i = 0; i < 3; i++) {
    emu.ld[i].scale = 1.0f;
    emu.ld[i].block_stride = DIM;
  }
  emu.st_scale = 1.0f;
  emu.ex_dataflow = -1;
  emu.ex_a_stride = 1;
  fesetround(FE_TONEAREST);
}

int emu_register_dram(const void *base, size_t bytes) {
  if (emu.n_dram >= MAX_DRAM_REGIONS) return -1;
  emu.dram_base[emu.n_dram] = (const char *)base;
  emu.dram_bytes[emu.n_dram] = bytes;
  return emu.n_dram++;
}

const char *emu_error(void) { return emu.failed ? emu.error : NULL; }

uint64_t emu_count(int op) { return op >= 0 && op < N_OPS ? emu.counts[op] : 0; }

int emu_num_ops(void) { return N_OPS; }

const char *emu_op_name(int op) { return op >= 0 && op < N_OPS ? OP_NAMES[op] : NULL; }

elem_t *emu_scratchpad(void) { return &emu.sp[0][0]; }

acc_t *emu_accumulator(void) { return &emu.acc[0][0]; }
