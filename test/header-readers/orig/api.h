/* The header before the patch: what the readers beside it were built against. */
#ifndef API_H
#define API_H
struct inner { int x; int y; };
struct outer { struct inner *in; long tag; };
/* A member named like the inline below: 6.1's struct netns_ipv6 has a member tcp_sk. */
struct holder { int get; int other; };
enum mode { MODE_A, MODE_B, MODE_MAX };
static inline int get(const struct inner *p) { return p->x; }
static inline int helper(int v) { return v + 1; }
static inline int wrapper(int v) { return helper(v) * 2; }
struct mv { int a; long b; };
#endif
