#pragma once
// SNN_HD marks a function that runs both on the host and on a CUDA device. Kernel bodies (neuron
// updates, spike delivery, random numbers) are written once with it: the CPU backend and the host
// tests execute exactly the code the CUDA kernels execute.
#if defined(__CUDACC__)
#define SNN_HD __host__ __device__ inline
#else
#define SNN_HD inline
#endif
