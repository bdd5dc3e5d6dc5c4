/* The header after the patch: each change is read by some of the readers beside it, not all. */
#ifndef API_H
#define API_H
#define NEW_FLAG 4
struct inner { int x; int z; int y; };
struct outer { struct inner *in; long tag; };
/* A member named like the inline below: 6.1's struct netns_ipv6 has a member tcp_sk. */
struct holder { int get; int other; };
enum mode { MODE_A, MODE_B, MODE_C, MODE_MAX };
#define get(p) ((p)->x)
static inline int helper(int v) { return v + 2; }
static inline int wrapper(int v) { return helper(v) * 2; }
/* struct mv moved out, as 6.1.176 moved ib_block_iter from ib_verbs.h to rdma/iter.h. */
#include "mv.h"
#endif
