/* STUB: phoneprov CLI entry (issue 2) replaces this file. */
#include <stdio.h>
int main(void)
{
	fputs("phoneprov: not implemented yet\n", stderr);
	return 1;
}
