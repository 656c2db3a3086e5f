/* Exo's C includes <include/gemmini.h>: forward to the emulator's header. */
#include "../gemmini.h"
