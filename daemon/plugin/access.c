/* The registry's public accessors (plugin.h): what the rest of the daemon
 * may know about a plugin, without its private layout. */
#include "plugin_int.h"
#include "hooks_int.h"
#include "monitor_int.h"

#include <stdlib.h>

static void file_info(const struct pp_file_spec *fs, struct pp_plugin_file *out)
{
	out->path = fs->path;
	out->template_name = fs->tpl_name;
	out->common = fs->common;
	out->sensitive = fs->sensitive;
	out->trigger = fs->trigger;
	out->common_data = fs->common_data;
	out->common_len = fs->common_len;
}

size_t pp_plugin_file_count(const struct pp_plugin *p)
{
	return pp_priv(p)->n_files;
}

void pp_plugin_file_at(const struct pp_plugin *p, size_t i, struct pp_plugin_file *out)
{
	file_info(&pp_priv(p)->files[i], out);
}

size_t pp_plugin_model_count(const struct pp_plugin *p)
{
	return pp_priv(p)->n_models;
}

const char *pp_plugin_model_name(const struct pp_plugin *p, size_t i)
{
	return pp_priv(p)->models[i].name;
}

size_t pp_plugin_rule_count(const struct pp_plugin *p)
{
	return pp_priv(p)->n_rules;
}

const json_t *pp_plugin_autoprov(const struct pp_plugin *p)
{
	return pp_priv(p)->autoprov;
}

const json_t *pp_plugin_settings(const struct pp_plugin *p)
{
	return pp_priv(p)->settings;
}

uint64_t pp_plugin_hash(const struct pp_plugin *p)
{
	return pp_priv(p)->hash;
}

size_t pp_plugin_index(const struct pp_plugin *p)
{
	return pp_priv(p)->index;
}

bool pp_registry_match_file(const struct pp_registry *r, const char *path,
			    struct pp_plugin_file *file, const struct pp_plugin **plugin,
			    char mac[18])
{
	const struct pp_file_spec *fs = pp_registry_match_path(r, path, plugin, mac);

	if (fs && file)
		file_info(fs, file);
	return fs != NULL;
}

bool pp_registry_common_file(const struct pp_registry *r, const char *path,
			     struct pp_plugin_file *file, const struct pp_plugin **plugin)
{
	const struct pp_file_spec *fs = pp_registry_common(r, path, plugin);

	if (fs && file)
		file_info(fs, file);
	return fs != NULL;
}

bool pp_plugin_has_hooks(const struct pp_plugin *p)
{
	return pp_priv(p)->hooks != NULL;
}

bool pp_plugin_has_job(const struct pp_plugin *p)
{
	return PP_HOOK(pp_priv(p)->hooks, job) != NULL;
}

int pp_plugin_job(const struct pp_plugin *p)
{
	struct pp_hooks *hk = pp_hooks_enter(pp_priv(p)->hooks);
	int rc = PP_HOOK(hk, job) ? hk->h->job(hk->state) : PP_ENOTSUP;

	pp_hooks_leave(hk);
	return rc;
}

int64_t pp_plugin_job_interval_ms(const struct pp_plugin *p)
{
	struct pp_hooks *hk = pp_priv(p)->hooks;
	const json_t *v = json_object_get(pp_priv(p)->settings, "job_interval_s");

	/* plugins.settings.<name>.job_interval_s wins (checked at load) */
	if (json_is_number(v) && json_number_value(v) > 0)
		return (int64_t)(json_number_value(v) * 1000.0 + 0.5);
	return PP_HOOK(hk, job) && hk->h->job_interval_s ? 1000 * (int64_t)hk->h->job_interval_s :
							    60000;
}

unsigned pp_plugin_job_interval(const struct pp_plugin *p)
{
	return (unsigned)((pp_plugin_job_interval_ms(p) + 999) / 1000);
}

bool pp_plugin_job_sched(const struct pp_plugin *p, struct pp_job_sched *out)
{
	struct pp_hooks *hk = pp_hooks_enter(pp_priv(p)->hooks);

	if (!hk)
		return false;
	out->next_ms = hk->job_next_ms;
	out->last_ms = hk->job_last_ms;
	out->interval_ms = hk->job_interval_ms;
	pp_hooks_leave(hk);
	return true;
}

void pp_plugin_job_sched_set(const struct pp_plugin *p, const struct pp_job_sched *in)
{
	struct pp_hooks *hk = pp_hooks_enter(pp_priv(p)->hooks);

	if (!hk)
		return;
	hk->job_next_ms = in->next_ms;
	hk->job_last_ms = in->last_ms;
	hk->job_interval_ms = in->interval_ms;
	pp_hooks_leave(hk);
}

bool pp_plugin_has_run_hook(const struct pp_plugin *p)
{
	return PP_HOOK(pp_priv(p)->hooks, run) != NULL;
}

int pp_plugin_run_hook(const struct pp_plugin *p, struct pp_monitor_ctx *ctx)
{
	struct pp_hooks *hk = pp_priv(p)->hooks;

	return PP_HOOK(hk, run) ? hk->h->run(hk->state, ctx) : PP_ENOTSUP;
}

size_t pp_plugin_monitor_count(const struct pp_plugin *p)
{
	return pp_mon_set_count(pp_priv(p)->monitors);
}

struct pp_mon_def *pp_plugin_monitor_at(const struct pp_plugin *p, size_t i)
{
	return pp_mon_set_at(pp_priv(p)->monitors, i);
}

/* An input as a JSON string; bytes that are not UTF-8 text as \xNN. */
static json_t *input_json(const char *s, size_t len)
{
	static const char hx[] = "0123456789abcdef";
	json_t *j = json_stringn(s, len);
	struct pp_buf b = { 0 };

	if (j)
		return j;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\') {
			pp_buf_puts(&b, "\\\\");
		} else if (c >= 0x20 && c < 0x7f) {
			pp_buf_putc(&b, (char)c);
		} else {
			pp_buf_puts(&b, "\\x");
			pp_buf_putc(&b, hx[c >> 4]);
			pp_buf_putc(&b, hx[c & 15]);
		}
	}
	j = json_string(b.data ? b.data : "");
	pp_buf_free(&b);
	return j;
}

json_t *pp_identify_json(const struct pp_registry *reg, const struct pp_ex_input *in)
{
	size_t n = pp_registry_count(reg);
	unsigned char *sc = calloc(n ? n : 1, 1);
	json_t *out = json_object(), *scores = json_object(), *from = json_object();
	json_t *input = json_object();
	struct pp_devinfo di;
	int best;

	pp_identify(reg, in, &di);
	best = pp_associate(reg, &di, sc);
	for (int s = 0; s < PP_SRC_N; s++)
		if (in->s[s])
			json_object_set_new(input, pp_src_name(s), input_json(in->s[s], in->len[s]));
	for (int f = 0; f < PP_F_N; f++) {
		json_object_set_new(out, pp_field_name(f),
				    di.f[f][0] ? json_string(di.f[f]) : json_null());
		if (di.f[f][0])
			json_object_set_new(from, pp_field_name(f),
					    json_pack("{s:s, s:s?}", "source", pp_src_name(di.src[f]),
						      "plugin", di.plugin[f]));
	}
	for (size_t i = 0; i < n; i++)
		json_object_set_new(scores, pp_registry_at(reg, i)->name,
				    json_string(sc ? pp_score_name(sc[i]) : "?"));
	json_object_set_new(out, "from", from);
	json_object_set_new(out, "scores", scores);
	json_object_set_new(out, "input", input);
	if (best >= 0) {
		const struct pp_plugin *p = pp_registry_at(reg, (size_t)best);
		const struct pp_model *m = pp_plugin_model(p, di.f[PP_F_MODEL]);

		json_object_set_new(out, "plugin", json_string(p->name));
		json_object_set_new(out, "score", json_string(pp_score_name(sc[best])));
		json_object_set_new(out, "canonical_model", m ? json_string(m->name) : json_null());
	} else {
		json_object_set_new(out, "plugin", json_null());
		json_object_set_new(out, "score", json_string("IMPROBABLE"));
		json_object_set_new(out, "canonical_model", json_null());
	}
	free(sc);
	return out;
}
