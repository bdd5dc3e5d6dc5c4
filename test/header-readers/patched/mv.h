#ifndef MV_H
#define MV_H
struct mv { int a; long b; };
#endif
