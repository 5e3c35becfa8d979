#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "daemon/mustache/mustache.h"
static void t_dummy(void **s) { (void)s; }
int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(t_dummy) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
