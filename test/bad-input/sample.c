// A small kernel-style translation unit for the bad-input and fuzz tests: a few functions
// (global, static, with calls, a loop and a switch), a static variable, a global table and
// string literals, so the object has .text.*, .data/.bss.*, .rodata.str*, a symbol table,
// RELA sections and __mcount_loc entries. No headers: it compiles anywhere. Compiled with
// -DSAMPLE_PATCHED, sample_report changes (a pair with something to patch).

extern int printk(const char *fmt, ...);
extern void *kmalloc(unsigned long size, unsigned int flags);

static int sample_count;
int sample_table[8] = { 1, 2, 3, 5, 8, 13, 21, 34 };
const char *sample_names[] = { "zero", "one", "two", "three" };

static __attribute__((noinline)) int sample_scale(int v)
{
	sample_count++;
	return v * sample_table[v & 7] + sample_count;
}

int sample_sum(const int *v, int n)
{
	int i, s = 0;

	for (i = 0; i < n; i++)
		s += sample_scale(v[i]);
	return s;
}

const char *sample_name(int i)
{
	switch (i) {
	case 0: case 1: case 2: case 3:
		return sample_names[i];
	case 42:
		return "the answer";
	default:
		return "unknown";
	}
}

void *sample_alloc(unsigned long n)
{
	void *p = kmalloc(n * sizeof(int), 0xcc0);

	if (!p)
		printk("sample: cannot allocate %lu entries (%d so far)\n", n, sample_count);
	return p;
}

int sample_report(void)
{
	printk("sample: count=%d name=%s\n", sample_count, sample_name(sample_count & 3));
#ifdef SAMPLE_PATCHED
	printk("sample: patched report\n");
#endif
	return sample_count;
}
