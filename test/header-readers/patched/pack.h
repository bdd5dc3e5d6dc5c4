#pragma pack(push, 1)
struct packed_s { char a; int b; };
#pragma pack(pop)
