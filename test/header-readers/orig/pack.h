struct packed_s { char a; int b; };
