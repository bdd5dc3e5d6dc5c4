// A different translation unit: diffing its object against sample.c's must be refused as bad
// input (the two objects come from different source files).

extern int printk(const char *fmt, ...);

static long other_total;

long other_add(long v)
{
	other_total += v;
	if (other_total < 0)
		printk("other: negative total %ld\n", other_total);
	return other_total;
}

int sample_sum(const int *v, int n)
{
	return n ? v[0] : 0;
}
