#pragma once

// The vector types and code-generation attributes of the hot loops.

// Hot inner loops are compiled for AVX-512, AVX2+FMA and baseline x86-64; the loader picks by CPU at run time.
#if defined(__x86_64__) && !defined(NETDEF_NO_MULTIVERSION)
#define NETDEF_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define NETDEF_CLONES
#endif

// Eight floats, one AVX register (two SSE registers on baseline x86-64).
typedef float Vec8 __attribute__((vector_size(32)));
// Sixteen floats, one AVX-512 register: only in functions compiled for AVX-512 (NETDEF_WIDE), reached where
// wideTiles() (GCC lowers it to AVX2 registers badly, spilling: a tenth of the 8-float code's speed).
typedef float Vec16 __attribute__((vector_size(64)));
#define NETDEF_WIDE __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512dq")))
