/* Render benchmark: one Yealink-like template rendered for N distinct
 * devices. Device data is generated in batches before timing; only
 * mst_render is timed (CPU time of the thread). With small batches (default
 * 10) the data is still in cache when rendered, as in the daemon, which
 * parses a device record right before rendering it; larger batches (100,
 * 5000) show what happens as the data falls out of the caches. The first `dump` devices (data and output) are
 * written as JSON lines so that peers.py can render the same data with
 * Jinja2 and pystache and compare bytes.
 *   bench-render TEMPLATE [N [DUMP [OUTDIR [BATCH]]]] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/mustache.h"

static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static json_t *gen_device(uint32_t i)
{
	static const char *models[] = { "T46U", "T48U", "T54W", "T57W" };
	static const char *zones[] = { "-5", "-6", "+1", "+2", "0" };
	static const char *names[] = { "Reception", "Sales", "Support", "Lab", "Boss", "Ops" };
	char mac[18], serial[24], buf[64], url[96];
	json_t *lines = json_array(), *keys = json_array();
	int mode = (i % 3 == 0) ? 2 : 0;

	rng_state = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)i * 0x100000001b3ULL) ^ 1;
	snprintf(mac, sizeof(mac), "80:5e:c0:%02x:%02x:%02x", (i >> 16) & 0xff, (i >> 8) & 0xff,
		 i & 0xff);
	snprintf(serial, sizeof(serial), "YL%010u", rnd());
	snprintf(url, sizeof(url), "http://prov.site%u.voip.internal/yealink/", i % 50);
	for (int l = 1; l <= 6; l++) {
		char pw[17], user[16], label[32], disp[48], srv[40];

		for (int k = 0; k < 16; k++)
			pw[k] = "0123456789abcdef"[rnd() & 15];
		pw[16] = '\0';
		snprintf(user, sizeof(user), "%u", 100000 + i * 6 + (uint32_t)l);
		snprintf(label, sizeof(label), "Ext %s", user);
		snprintf(disp, sizeof(disp), "%s %u line %d", names[rnd() % 6], i, l);
		snprintf(srv, sizeof(srv), "pbx%u.voip.internal", i % 7);
		json_t *line = json_pack("{s:i s:s s:s s:s s:s s:s s:s s:i s:i s:i}", "index", l,
					 "label", label, "display_name", disp, "auth_name", user,
					 "user", user, "password", pw, "server", srv, "port",
					 l == 1 ? 5060 : 5061, "transport", l == 1 ? 0 : 2,
					 "expires", 3600);
		if (l == 1)
			json_object_set_new(line, "voicemail", json_string("*97"));
		json_array_append_new(lines, line);
	}
	for (int k = 1; k <= 40; k++) {
		int type = k <= 6 ? 15 : (k % 5 == 0 ? 13 : 16);

		snprintf(buf, sizeof(buf), "%u", 200000 + rnd() % 800000);
		char label[40];

		snprintf(label, sizeof(label), "%s %d", type == 15 ? "Line" : "BLF", k);
		json_array_append_new(keys, json_pack("{s:i s:i s:s s:s}", "n", k, "type", type,
						      "value", type == 15 ? "" : buf, "label",
						      label));
	}
	char ip[20], gw[20];

	snprintf(ip, sizeof(ip), "10.%u.%u.%u", (i >> 16) & 0xff, (i >> 8) & 0xff, 10 + i % 200);
	snprintf(gw, sizeof(gw), "10.%u.%u.1", (i >> 16) & 0xff, (i >> 8) & 0xff);
	snprintf(buf, sizeof(buf), "Site %u", i % 50);
	return json_pack("{s:s s:s s:s s:{s:s} s:{s:i s:b s:s s:s s:s s:s s:s s:i s:i} s:s "
			 "s:o s:o s:{s:s s:s s:i s:s s:s s:i} s:{s:s s:s s:s s:i}}",
			 "model", models[i % 4], "mac", mac, "serial", serial,
			 "site", "name", buf,
			 "network", "mode", mode, "static", mode == 2, "ip", ip, "mask",
			 "255.255.255.0", "gateway", gw, "dns1", "10.0.0.53", "dns2", "10.0.1.53",
			 "vlan_enable", (int)(i & 1), "vlan_id", (int)(i & 1) ? 100 + i % 20 : 1,
			 "provision_url", url,
			 "sip_lines", lines, "funckeys", keys,
			 "ntp", "server1", "0.pool.ntp.org", "server2", "1.pool.ntp.org",
			 "interval", 1000, "tz", zones[i % 5], "tz_name", "Local", "dst", 2,
			 "locale", "gui", "English", "wui", "English", "tones", "United States",
			 "date_format", (int)(i % 7));
}

static double now_s(void)
{
	struct timespec ts;

	/* CPU time of this thread: the machine is shared, wall time would
	 * count other processes' slices */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	fclose(f);
	if (p)
		*len = (size_t)n;
	return p;
}

int main(int argc, char **argv)
{
	const char *tpath = argc > 1 ? argv[1] : "bench/render/phone.mustache";
	uint32_t n = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 100000;
	uint32_t dump = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 0;
	const char *outdir = argc > 4 ? argv[4] : "/tmp";
	uint32_t batch = argc > 5 ? (uint32_t)strtoul(argv[5], NULL, 10) : 10;
	struct mst_tpl *t;
	struct mst_error err;
	struct pp_buf out = { 0 };
	size_t slen;
	char *src = read_file(tpath, &slen);
	double total = 0;
	uint64_t bytes = 0, sum = 0;
	FILE *fd = NULL, *fo = NULL;
	json_t **devs;

	if (batch == 0)
		batch = 10;
	devs = calloc(batch, sizeof(*devs));
	if (!src || !devs) {
		fprintf(stderr, "cannot read %s\n", tpath);
		return 1;
	}
	if (mst_compile(tpath, src, slen, &t, &err) != PP_OK) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	if (dump) {
		char p[512];

		snprintf(p, sizeof(p), "%s/devices.jsonl", outdir);
		fd = fopen(p, "w");
		snprintf(p, sizeof(p), "%s/c_out.jsonl", outdir);
		fo = fopen(p, "w");
		if (!fd || !fo) {
			perror(p);
			return 1;
		}
	}
	for (uint32_t b0 = 0; b0 < n; b0 += batch) {
		uint32_t m = n - b0 < batch ? n - b0 : batch;

		for (uint32_t k = 0; k < m; k++)
			devs[k] = gen_device(b0 + k);
		double t0 = now_s();

		for (uint32_t k = 0; k < m; k++) {
			pp_buf_reset(&out);
			if (mst_render(t, devs[k], MST_ESCAPE_NONE, NULL, NULL, 1, &out, &err)) {
				fprintf(stderr, "%s\n", err.msg);
				return 1;
			}
			bytes += out.len;
			sum += (uint8_t)out.data[out.len / 2];
		}
		total += now_s() - t0;
		for (uint32_t k = 0; k < m; k++) {
			if (fd && b0 + k < dump) {
				char *js = json_dumps(devs[k], JSON_COMPACT);
				json_t *o;

				pp_buf_reset(&out);
				mst_render(t, devs[k], MST_ESCAPE_NONE, NULL, NULL, 1, &out, &err);
				o = json_stringn(out.data, out.len);
				char *os = json_dumps(o, JSON_ENCODE_ANY);

				fprintf(fd, "%s\n", js);
				fprintf(fo, "%s\n", os);
				free(js);
				free(os);
				json_decref(o);
			}
			json_decref(devs[k]);
		}
	}
	if (fd)
		fclose(fd);
	if (fo)
		fclose(fo);
	printf("c-mustache (data batches of %u): %u renders in %.3f s CPU: %.0f renders/s, "
	       "%.1f MB/s, avg output %.0f bytes (check %llu)\n", batch, n, total, n / total,
	       bytes / total / 1e6, (double)bytes / n, (unsigned long long)sum);
	printf("RESULT renders_per_s=%.1f\n", n / total);
	mst_free(t);
	pp_buf_free(&out);
	free(devs);
	free(src);
	return 0;
}
