/* STUB: phoneprovd (issue 2) replaces this file. */
#include <stdio.h>
int main(void)
{
	fputs("phoneprovd: not implemented yet\n", stderr);
	return 1;
}
