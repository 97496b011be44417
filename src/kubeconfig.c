/* kubeconfig.c — libyaml → KubeCredentials for one context, and the in-cluster service account. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "kubeconfig.h"
#include "macro.h"
#include "util.h"
/* Sets *reterr (when non-NULL) and returns error, or -ENOMEM. Every message is built from our own
 * words, names and line numbers: never from a scalar that could hold a secret. */
#define fail_errno(reterr, error, ...) set_reterr((reterr), (error), __VA_ARGS__)

/* The largest kubeconfig kubeconfig_load() reads. Real ones are a few KiB; even one with many
 * embedded certificates stays far below this. */
#define KUBECONFIG_MAX_BYTES (4U * 1024U * 1024U)

/* kube_token_read() refuses larger files: service account tokens are ~1 KiB JWTs. */
#define TOKEN_MAX_BYTES (64U * 1024U)

#define SERVICE_ACCOUNT_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

#define NOT_SUPPORTED ", which kubevirt-ksmd does not support; use a token or client certificate"

static void yaml_parser_deletep(yaml_parser_t *p) {
        yaml_parser_delete(p);
}

/* Overwrites secrets before they go back to the allocator. */
static void erase_and_free(char *s, size_t n) {
        if (!s)
                return;
        explicit_bzero(s, n);
        free(s);
}

static void erase_and_free_string(char *s) {
        if (s)
                erase_and_free(s, strlen(s));
}

typedef struct Parse {
        yaml_document_t *doc;
        char **reterr;
} Parse;

#define fail(p, ...) fail_errno((p)->reterr, -EINVAL, __VA_ARGS__)

static const char *node_kind(const yaml_node_t *n) {
        if (!n)
                return "nothing";
        switch (n->type) {
        case YAML_SCALAR_NODE:
                return "a scalar";
        case YAML_SEQUENCE_NODE:
                return "a sequence";
        case YAML_MAPPING_NODE:
                return "a mapping";
        default:
                return "empty";
        }
}

static size_t node_line(const yaml_node_t *n) {
        return n->start_mark.line + 1;
}

static bool scalar_equal(const yaml_node_t *n, const char *s) {
        size_t l = strlen(s);

        return n && n->type == YAML_SCALAR_NODE && n->data.scalar.length == l &&
                memcmp(n->data.scalar.value, s, l) == 0;
}

/* A YAML null: "~", "null" or nothing at all, unquoted (YAML 1.2 core schema). */
static bool node_is_null(const yaml_node_t *n) {
        static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };

        if (!n)
                return true;
        if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(nulls); i++)
                if (scalar_equal(n, nulls[i]))
                        return true;
        return false;
}

/* Looks key up in mapping m. 1 and *ret when present and not null; 0 (*ret = NULL) when absent or
 * null, as Go's decoder treats both; -EINVAL when the key appears twice (Go's YAML decoder
 * rejects that too, and we must not pick one silently). */
static int map_get(Parse *p, const yaml_node_t *m, const char *key, yaml_node_t **ret) {
        yaml_node_t *found = NULL;
        bool seen = false;

        assert(m->type == YAML_MAPPING_NODE);

        for (yaml_node_pair_t *pair = m->data.mapping.pairs.start; pair < m->data.mapping.pairs.top; pair++) {
                yaml_node_t *k = yaml_document_get_node(p->doc, pair->key);

                if (!scalar_equal(k, key))
                        continue;
                if (seen)
                        return fail(p, "line %zu: duplicate key \"%s\"", node_line(k), key);
                seen = true;
                found = yaml_document_get_node(p->doc, pair->value);
        }

        if (node_is_null(found)) {
                *ret = NULL;
                return 0;
        }
        *ret = found;
        return 1;
}

/* Like map_get(), and the value must be a mapping. */
static int map_get_mapping(Parse *p, const yaml_node_t *m, const char *where, const char *key, yaml_node_t **ret) {
        yaml_node_t *v;
        int r;

        r = map_get(p, m, key, &v);
        if (r <= 0) {
                *ret = NULL;
                return r;
        }
        if (v->type != YAML_MAPPING_NODE)
                return fail(p, "line %zu: %s%s%s must be a mapping, not %s", node_line(v),
                            strempty(where), where ? ": " : "", key, node_kind(v));
        *ret = v;
        return 1;
}

/* A string value. *ret = NULL when the key is absent, null or empty: client-go treats an empty
 * string as unset everywhere. -EINVAL when the value is not a scalar or holds a NUL byte. */
static int map_get_string(Parse *p, const yaml_node_t *m, const char *where, const char *key, char **ret) {
        yaml_node_t *v;
        char *s;
        int r;

        *ret = NULL;

        r = map_get(p, m, key, &v);
        if (r <= 0)
                return r;
        if (v->type != YAML_SCALAR_NODE)
                return fail(p, "line %zu: %s%s%s must be a string, not %s", node_line(v),
                            strempty(where), where ? ": " : "", key, node_kind(v));
        if (memchr(v->data.scalar.value, 0, v->data.scalar.length))
                return fail(p, "line %zu: %s%s%s contains a NUL byte", node_line(v),
                            strempty(where), where ? ": " : "", key);
        if (v->data.scalar.length == 0)
                return 0;

        s = strndup((const char *) v->data.scalar.value, v->data.scalar.length);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 1;
}

static bool has_control_chars(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

static int base64_value(unsigned char c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return -EINVAL;
}

/* Decodes standard base64 (RFC 4648 §4, padded, as Go's base64.StdEncoding). Whitespace and line
 * breaks anywhere are skipped (wrapped data); any other character outside the alphabet, padding
 * anywhere but at the end, or a truncated quantum is -EINVAL. *ret is NUL-terminated for
 * convenience; *ret_len excludes the NUL. */
static int base64_decode(const char *s, size_t n, char **ret, size_t *ret_len) {
        _cleanup_free_ char *out = NULL;
        unsigned char q[4];
        size_t len = 0, k = 0;
        bool done = false;

        out = malloc(n / 4 * 3 + 1);
        if (!out)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                int v[4];

                if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
                        continue;
                if (done)
                        return -EINVAL;         /* anything after the padded quantum */

                q[k++] = c;
                if (k < 4)
                        continue;
                k = 0;

                /* "xxxx", "xxx=" or "xx==": padding only in the last two places, and only at the end. */
                for (size_t j = 0; j < 4; j++)
                        v[j] = q[j] == '=' ? 0 : base64_value(q[j]);
                if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0 || q[0] == '=' || q[1] == '=' ||
                    (q[2] == '=' && q[3] != '='))
                        return -EINVAL;

                out[len++] = (char) (v[0] << 2 | v[1] >> 4);
                if (q[2] != '=')
                        out[len++] = (char) ((v[1] & 0xf) << 4 | v[2] >> 2);
                if (q[3] != '=')
                        out[len++] = (char) ((v[2] & 0x3) << 6 | v[3]);
                done = q[3] == '=';
        }
        if (k != 0)
                return -EINVAL;

        out[len] = 0;
        *ret_len = len;
        *ret = TAKE_PTR(out);
        return 0;
}

/* A base64 *-data field, decoded. *ret = NULL when absent or empty. */
static int map_get_base64(Parse *p, const yaml_node_t *m, const char *where, const char *key,
                          char **ret, size_t *ret_len) {
        yaml_node_t *v;
        char *data;
        size_t len;
        int r;

        *ret = NULL;
        *ret_len = 0;

        r = map_get(p, m, key, &v);
        if (r <= 0)
                return r;
        if (v->type != YAML_SCALAR_NODE)
                return fail(p, "line %zu: %s: %s must be a base64 string, not %s", node_line(v),
                            where, key, node_kind(v));

        r = base64_decode((const char *) v->data.scalar.value, v->data.scalar.length, &data, &len);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return fail(p, "line %zu: %s: %s is not valid base64", node_line(v), where, key);
        if (len == 0) {
                free(data);
                return 0;
        }

        *ret = data;
        *ret_len = len;
        return 1;
}

/* A path relative to the kubeconfig's directory, as kubectl resolves it. */
static int resolve_path(const char *base_dir, char *path, char **ret) {
        size_t b;
        char *s;

        if (!path || path[0] == '/' || !base_dir || !*base_dir) {
                *ret = path;
                return 0;
        }

        b = strlen(base_dir);
        while (b > 1 && base_dir[b - 1] == '/')
                b--;

        s = strdup_printf("%.*s%s%s", (int) b, base_dir, base_dir[b - 1] == '/' ? "" : "/", path);
        if (!s)
                return -ENOMEM;
        free(path);
        *ret = s;
        return 0;
}

static int map_get_path(Parse *p, const yaml_node_t *m, const char *where, const char *key,
                        const char *base_dir, char **ret) {
        _cleanup_free_ char *s = NULL;
        int r;

        r = map_get_string(p, m, where, key, &s);
        if (r <= 0) {
                *ret = NULL;
                return r;
        }
        r = resolve_path(base_dir, TAKE_PTR(s), ret);
        if (r < 0)
                return r;
        return 1;
}

/* The entry of a named list (clusters, users, contexts) called name: *ret is its inner mapping
 * (cluster, user, context), or NULL when that is empty. 1 found, 0 not found, -EINVAL for a
 * malformed list or a name that appears twice (client-go refuses duplicate names). */
static int find_named(Parse *p, const yaml_node_t *root, const char *list_key, const char *item_key,
                      const char *name, yaml_node_t **ret) {
        yaml_node_t *list, *found = NULL;
        bool seen = false;
        size_t idx = 0;
        int r;

        r = map_get(p, root, list_key, &list);
        if (r < 0)
                return r;
        if (r == 0)
                return 0;
        if (list->type != YAML_SEQUENCE_NODE)
                return fail(p, "line %zu: %s must be a sequence, not %s", node_line(list), list_key, node_kind(list));

        for (yaml_node_item_t *i = list->data.sequence.items.start; i < list->data.sequence.items.top; i++, idx++) {
                yaml_node_t *item = yaml_document_get_node(p->doc, *i), *inner = NULL, *n = NULL;
                char where[64];

                if (!item || item->type != YAML_MAPPING_NODE)
                        return fail(p, "line %zu: %s[%zu] must be a mapping, not %s",
                                    item ? node_line(item) : 0, list_key, idx, node_kind(item));

                r = map_get(p, item, "name", &n);
                if (r < 0)
                        return r;
                if (r == 0 || !scalar_equal(n, name))
                        continue;

                if (seen)
                        return fail(p, "line %zu: %s[%zu]: duplicate name \"%s\"", node_line(item), list_key, idx, name);
                seen = true;

                (void) snprintf(where, sizeof(where), "%s[%zu]", list_key, idx);
                r = map_get_mapping(p, item, where, item_key, &inner);
                if (r < 0)
                        return r;
                found = inner;
        }

        *ret = found;
        return seen;
}

/* insecure-skip-tls-verify: a YAML boolean. Go's decoder accepts more spellings (yes, on), but
 * kubectl writes true/false, and a quoted "true" is a string that Go refuses for a bool field. */
static int map_get_bool(Parse *p, const yaml_node_t *m, const char *where, const char *key, bool *ret) {
        static const char *const yes[] = { "true", "True", "TRUE" };
        static const char *const no[] = { "false", "False", "FALSE" };
        yaml_node_t *v;
        int r;

        *ret = false;

        r = map_get(p, m, key, &v);
        if (r <= 0)
                return r;

        if (v->type == YAML_SCALAR_NODE && v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
                for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                        if (scalar_equal(v, yes[i])) {
                                *ret = true;
                                return 1;
                        }
                for (size_t i = 0; i < ELEMENTSOF(no); i++)
                        if (scalar_equal(v, no[i]))
                                return 1;
        }

        return fail(p, "line %zu: %s: %s must be true or false", node_line(v), where, key);
}

/* Validates server and normalizes it in place: scheme lower-cased, trailing slashes dropped.
 * http:// is accepted (a local apiserver behind a proxy), with no TLS at all. */
static int normalize_server(Parse *p, const char *where, char *s) {
        static const char *const schemes[] = { "https://", "http://" };
        size_t l, scheme = 0;

        for (size_t i = 0; i < ELEMENTSOF(schemes); i++)
                if (strncasecmp(s, schemes[i], strlen(schemes[i])) == 0) {
                        scheme = strlen(schemes[i]);
                        memcpy(s, schemes[i], scheme);
                        break;
                }
        if (scheme == 0)
                return fail(p, "%s: server must start with https:// or http://", where);

        for (const char *c = s; *c; c++)
                if ((unsigned char) *c <= ' ' || *c == 0x7f)
                        return fail(p, "%s: server contains whitespace or control characters", where);

        l = strlen(s);
        while (l > scheme && s[l - 1] == '/')
                s[--l] = 0;
        if (l == scheme)
                return fail(p, "%s: server has no host", where);

        return 0;
}

static int parse_cluster(Parse *p, const yaml_node_t *m, const char *cluster_name, const char *base_dir,
                         KubeCredentials *c) {
        _cleanup_free_ char *where = NULL;
        int r;

        where = strdup_printf("cluster \"%s\"", cluster_name);
        if (!where)
                return -ENOMEM;

        if (!m)
                return fail(p, "%s has no server", where);

        r = map_get_string(p, m, where, "server", &c->server);
        if (r < 0)
                return r;
        if (!c->server)
                return fail(p, "%s has no server", where);
        r = normalize_server(p, where, c->server);
        if (r < 0)
                return r;

        r = map_get_string(p, m, where, "tls-server-name", &c->tls_server_name);
        if (r < 0)
                return r;
        if (c->tls_server_name && has_control_chars(c->tls_server_name))
                return fail(p, "%s: tls-server-name contains control characters", where);

        r = map_get_path(p, m, where, "certificate-authority", base_dir, &c->ca_file);
        if (r < 0)
                return r;
        r = map_get_base64(p, m, where, "certificate-authority-data", &c->ca_data, &c->ca_data_len);
        if (r < 0)
                return r;
        /* client-go's validation refuses both, rather than let one silently override the other. */
        if (c->ca_file && c->ca_data)
                return fail(p, "%s: certificate-authority and certificate-authority-data are both set", where);

        r = map_get_bool(p, m, where, "insecure-skip-tls-verify", &c->insecure_skip_tls_verify);
        if (r < 0)
                return r;
        /* As client-go's transport: a CA and "trust anything" contradict each other. */
        if (c->insecure_skip_tls_verify && (c->ca_file || c->ca_data))
                return fail(p, "%s: insecure-skip-tls-verify cannot be combined with a certificate authority", where);

        return 0;
}

static int parse_user(Parse *p, const yaml_node_t *m, const char *user_name, const char *base_dir,
                      KubeCredentials *c) {
        static const struct {
                const char *key;
                const char *what;
        } unsupported[] = {
                { "exec", "exec credentials" },
                { "auth-provider", "an auth-provider" },
                { "username", "basic authentication (username/password)" },
                { "password", "basic authentication (username/password)" },
                { "as", "impersonation (as)" },
                { "as-uid", "impersonation (as-uid)" },
                { "as-groups", "impersonation (as-groups)" },
                { "as-user-extra", "impersonation (as-user-extra)" },
        };
        _cleanup_free_ char *where = NULL;
        int r;

        /* An empty user ("user: {}") is anonymous: requests carry no credentials, which works
         * against an apiserver that grants system:anonymous what we need (a test cluster). */
        if (!m)
                return 0;

        where = strdup_printf("user \"%s\"", user_name);
        if (!where)
                return -ENOMEM;

        for (size_t i = 0; i < ELEMENTSOF(unsupported); i++) {
                yaml_node_t *v;

                r = map_get(p, m, unsupported[i].key, &v);
                if (r < 0)
                        return r;
                if (r > 0)
                        return fail(p, "%s uses %s" NOT_SUPPORTED, where, unsupported[i].what);
        }

        r = map_get_string(p, m, where, "token", &c->token);
        if (r < 0)
                return r;
        /* The token goes into an HTTP header: a line break there would be header injection. */
        if (c->token && has_control_chars(c->token))
                return fail(p, "%s: token contains control characters", where);

        /* Both may be set; client-go then prefers the file's current content and falls back to
         * the static token when the file cannot be read. */
        r = map_get_path(p, m, where, "tokenFile", base_dir, &c->token_file);
        if (r < 0)
                return r;

        r = map_get_path(p, m, where, "client-certificate", base_dir, &c->client_cert_file);
        if (r < 0)
                return r;
        r = map_get_base64(p, m, where, "client-certificate-data", &c->client_cert_data, &c->client_cert_data_len);
        if (r < 0)
                return r;
        r = map_get_path(p, m, where, "client-key", base_dir, &c->client_key_file);
        if (r < 0)
                return r;
        r = map_get_base64(p, m, where, "client-key-data", &c->client_key_data, &c->client_key_data_len);
        if (r < 0)
                return r;

        if (c->client_cert_file && c->client_cert_data)
                return fail(p, "%s: client-certificate and client-certificate-data are both set", where);
        if (c->client_key_file && c->client_key_data)
                return fail(p, "%s: client-key and client-key-data are both set", where);
        if ((c->client_cert_file || c->client_cert_data) && !(c->client_key_file || c->client_key_data))
                return fail(p, "%s has a client certificate but no client key", where);
        if ((c->client_key_file || c->client_key_data) && !(c->client_cert_file || c->client_cert_data))
                return fail(p, "%s has a client key but no client certificate", where);

        return 0;
}

static int parse_document(Parse *p, const char *base_dir, const char *context, KubeCredentials *c) {
        _cleanup_free_ char *api_version = NULL, *kind = NULL, *current = NULL, *cluster_name = NULL,
                *user_name = NULL;
        yaml_node_t *root, *ctx = NULL, *cluster = NULL, *user = NULL;
        const char *name;
        int r;

        root = yaml_document_get_root_node(p->doc);
        if (!root || node_is_null(root))
                return fail(p, "kubeconfig is empty");
        if (root->type != YAML_MAPPING_NODE)
                return fail(p, "line %zu: kubeconfig must be a mapping, not %s", node_line(root), node_kind(root));

        /* Both may be absent (client-go defaults them), but must not name something else. */
        r = map_get_string(p, root, NULL, "apiVersion", &api_version);
        if (r < 0)
                return r;
        if (api_version && !streq(api_version, "v1"))
                return fail(p, "apiVersion \"%s\" is not v1", api_version);
        r = map_get_string(p, root, NULL, "kind", &kind);
        if (r < 0)
                return r;
        if (kind && !streq(kind, "Config"))
                return fail(p, "kind \"%s\" is not Config", kind);

        r = map_get_string(p, root, NULL, "current-context", &current);
        if (r < 0)
                return r;
        name = context && *context ? context : current;
        if (!name)
                return fail(p, "no context given and current-context is not set");

        r = find_named(p, root, "contexts", "context", name, &ctx);
        if (r < 0)
                return r;
        if (r == 0)
                return fail(p, "context \"%s\" not found", name);

        if (ctx) {
                _cleanup_free_ char *where = strdup_printf("context \"%s\"", name);

                if (!where)
                        return -ENOMEM;
                r = map_get_string(p, ctx, where, "cluster", &cluster_name);
                if (r < 0)
                        return r;
                r = map_get_string(p, ctx, where, "user", &user_name);
                if (r < 0)
                        return r;
                r = map_get_string(p, ctx, where, "namespace", &c->namespace);
                if (r < 0)
                        return r;
        }
        if (!cluster_name)
                return fail(p, "context \"%s\" names no cluster", name);

        r = find_named(p, root, "clusters", "cluster", cluster_name, &cluster);
        if (r < 0)
                return r;
        if (r == 0)
                return fail(p, "cluster \"%s\" (of context \"%s\") not found", cluster_name, name);
        r = parse_cluster(p, cluster, cluster_name, base_dir, c);
        if (r < 0)
                return r;

        /* A context without a user is anonymous, as with kubectl; a user named but missing is a
         * mistake worth reporting. */
        if (user_name) {
                r = find_named(p, root, "users", "user", user_name, &user);
                if (r < 0)
                        return r;
                if (r == 0)
                        return fail(p, "user \"%s\" (of context \"%s\") not found", user_name, name);
                r = parse_user(p, user, user_name, base_dir, c);
                if (r < 0)
                        return r;
        }

        return 0;
}

static int yaml_error(const yaml_parser_t *parser, char **reterr) {
        const char *problem = parser->problem ?: "unknown error";

        switch (parser->error) {
        case YAML_MEMORY_ERROR:
                return -ENOMEM;
        case YAML_READER_ERROR:
                /* The offending byte itself (problem_value) is not shown: it could be part of a secret. */
                return fail_errno(reterr, -EINVAL, "YAML error at byte %zu: %s", parser->problem_offset, problem);
        case YAML_SCANNER_ERROR:
        case YAML_PARSER_ERROR:
        case YAML_COMPOSER_ERROR:
                if (parser->context)
                        return fail_errno(reterr, -EINVAL, "YAML syntax error at line %zu, column %zu: %s %s",
                                          parser->problem_mark.line + 1, parser->problem_mark.column + 1,
                                          problem, parser->context);
                return fail_errno(reterr, -EINVAL, "YAML syntax error at line %zu, column %zu: %s",
                                  parser->problem_mark.line + 1, parser->problem_mark.column + 1, problem);
        default:
                return fail_errno(reterr, -EINVAL, "YAML error: %s", problem);
        }
}

int kubeconfig_parse(const char *text, size_t len, const char *base_dir, const char *context,
                     KubeCredentials *ret, char **reterr_reason) {
        _cleanup_(yaml_parser_deletep) yaml_parser_t parser = {};
        _cleanup_(kube_credentials_done) KubeCredentials c = {};
        yaml_document_t doc;
        Parse p = { .doc = &doc, .reterr = reterr_reason };
        int r;

        assert(text || len == 0);
        assert(ret);

        if (len == 0)
                return fail(&p, "kubeconfig is empty");

        if (!yaml_parser_initialize(&parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&parser, (const unsigned char *) text, len);

        /* Only the first document counts, as with kubectl. Aliases resolve to shared nodes, so an
         * alias bomb costs nothing: we never walk the whole tree. */
        if (!yaml_parser_load(&parser, &doc))
                return yaml_error(&parser, reterr_reason);

        r = parse_document(&p, base_dir, context, &c);
        yaml_document_delete(&doc);
        if (r < 0)
                return r;

        *ret = c;
        c = (KubeCredentials) {};
        return 0;
}

/* The absolute directory of path, as kubectl resolves relative paths against it (filepath.Abs,
 * without resolving symlinks). */
static int dir_of(const char *path, char **ret) {
        _cleanup_free_ char *cwd = NULL;
        const char *slash = strrchr(path, '/');
        char *d;

        if (path[0] == '/')
                d = strndup(path, slash == path ? 1 : (size_t) (slash - path));
        else {
                cwd = getcwd(NULL, 0);
                if (!cwd)
                        return errno == ENOMEM ? -ENOMEM : -errno;
                if (slash)
                        d = strdup_printf("%s/%.*s", cwd, (int) (slash - path), path);
                else
                        d = strdup(cwd);
        }
        if (!d)
                return -ENOMEM;

        *ret = d;
        return 0;
}

/* Whoever can write a kubeconfig or token file chooses the API server the daemon trusts and
 * the credentials it sends: refuse one that group or others may write. 0, -EPERM, or -errno
 * of stat(). */
static int check_not_writable_by_others(const char *path) {
        struct stat st;

        if (stat(path, &st) < 0)
                return -errno;
        if (st.st_mode & (S_IWGRP | S_IWOTH))
                return -EPERM;
        return 0;
}

int kubeconfig_load(const char *path, const char *context, KubeCredentials *ret, char **reterr_reason) {
        _cleanup_free_ char *dir = NULL;
        char *text = NULL;
        size_t len = 0;
        int r;

        assert(path);
        assert(ret);

        r = check_not_writable_by_others(path);
        if (r == -EPERM)
                return fail_errno(reterr_reason, r, "%s is writable by group or others; refusing it (chmod go-w %s)",
                                  path, path);

        r = read_full_file(path, KUBECONFIG_MAX_BYTES, &text, &len);
        if (r == -EFBIG)
                return fail_errno(reterr_reason, r, "%s is larger than %u MiB", path, KUBECONFIG_MAX_BYTES >> 20);
        if (r < 0)
                return fail_errno(reterr_reason, r, "%s: %s", path, strerror(-r));

        r = dir_of(path, &dir);
        if (r < 0 && r != -ENOMEM)
                r = fail_errno(reterr_reason, r, "Failed to get the current directory: %s", strerror(-r));
        if (r >= 0)
                r = kubeconfig_parse(text, len, dir, context, ret, reterr_reason);

        /* The text holds tokens and keys. */
        erase_and_free(text, len);

        /* A token file that does not exist yet is fine (it is read later, with a fallback). */
        if (r >= 0 && ret->token_file && check_not_writable_by_others(ret->token_file) == -EPERM) {
                r = fail_errno(reterr_reason, -EPERM, "token file %s is writable by group or others; refusing it "
                               "(chmod go-w %s)", ret->token_file, ret->token_file);
                kube_credentials_done(ret);
        }
        return r;
}

/* The first line of buf, trimmed, or -ENODATA when that is empty. */
static int first_line(char *buf, size_t len, char **ret) {
        char *s = buf, *e;

        /* An embedded NUL ends the text; leading whitespace (blank lines too) is skipped. */
        len = strnlen(buf, len);
        buf[len] = 0;
        while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
                s++;
        e = strchr(s, '\n') ?: s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
                e--;
        if (e == s)
                return -ENODATA;

        *ret = strndup(s, (size_t) (e - s));
        if (!*ret)
                return -ENOMEM;
        return 0;
}

int kube_token_read(const char *path, char **ret) {
        _cleanup_free_ char *token = NULL;
        char *buf = NULL;
        size_t len = 0;
        int r;

        assert(path);
        assert(ret);

        r = check_not_writable_by_others(path);
        if (r < 0)
                return r;
        r = read_full_file(path, TOKEN_MAX_BYTES, &buf, &len);
        if (r < 0)
                return r;

        r = first_line(buf, len, &token);
        erase_and_free(buf, len);
        if (r < 0)
                return r;

        /* It goes into an Authorization header: refuse what would corrupt the request. */
        if (has_control_chars(token)) {
                erase_and_free_string(TAKE_PTR(token));
                return -EBADMSG;
        }

        *ret = TAKE_PTR(token);
        return 0;
}

static int file_exists(const char *path) {
        struct stat st;

        if (stat(path, &st) < 0)
                return -errno;
        return 0;
}

int kubeconfig_in_cluster(const char *host, const char *port, const char *sa_dir,
                          KubeCredentials *ret, char **reterr_reason) {
        _cleanup_(kube_credentials_done) KubeCredentials c = {};
        _cleanup_free_ char *ca = NULL, *ns_path = NULL, *buf = NULL;
        uint64_t port_num = 0;
        bool ipv6;
        size_t len = 0;
        int r;

        assert(ret);

        if (!host || !*host)
                return fail_errno(reterr_reason, -EINVAL, "KUBERNETES_SERVICE_HOST is not set");
        for (const char *s = host; *s; s++)
                if ((unsigned char) *s <= ' ' || *s == 0x7f || strchr("/@?#", *s))
                        return fail_errno(reterr_reason, -EINVAL, "KUBERNETES_SERVICE_HOST is not a host name or address");

        /* The service port is 443 nearly everywhere; an unset variable means that. */
        if (!port || !*port)
                port = "443";
        for (const char *s = port; *s; s++) {
                if (*s < '0' || *s > '9' || port_num > 65535)
                        return fail_errno(reterr_reason, -EINVAL, "KUBERNETES_SERVICE_PORT is not a port number");
                port_num = port_num * 10 + (uint64_t) (*s - '0');
        }
        if (port_num == 0 || port_num > 65535)
                return fail_errno(reterr_reason, -EINVAL, "KUBERNETES_SERVICE_PORT is not a port number");

        if (!sa_dir)
                sa_dir = SERVICE_ACCOUNT_DIR;

        /* An IPv6 literal needs brackets in a URL (client-go uses net.JoinHostPort). */
        ipv6 = strchr(host, ':') && host[0] != '[';
        c.server = strdup_printf("https://%s%s%s:%s", ipv6 ? "[" : "", host, ipv6 ? "]" : "", port);
        if (!c.server)
                return -ENOMEM;

        c.token_file = strdup_printf("%s/token", sa_dir);
        if (!c.token_file)
                return -ENOMEM;
        r = file_exists(c.token_file);
        if (r < 0)
                return fail_errno(reterr_reason, r, "%s: %s", c.token_file, strerror(-r));

        ca = strdup_printf("%s/ca.crt", sa_dir);
        if (!ca)
                return -ENOMEM;
        if (file_exists(ca) >= 0)
                c.ca_file = TAKE_PTR(ca);

        /* The namespace is a courtesy: a missing or unreadable file leaves it unset. */
        ns_path = strdup_printf("%s/namespace", sa_dir);
        if (!ns_path)
                return -ENOMEM;
        r = read_full_file(ns_path, TOKEN_MAX_BYTES, &buf, &len);
        if (r == -ENOMEM)
                return r;
        if (r >= 0) {
                r = first_line(buf, len, &c.namespace);
                if (r == -ENOMEM)
                        return r;
        }

        *ret = c;
        c = (KubeCredentials) {};
        return 0;
}

void kube_credentials_done(KubeCredentials *c) {
        if (!c)
                return;

        free(c->server);
        free(c->tls_server_name);
        free(c->ca_file);
        free(c->ca_data);
        free(c->client_cert_file);
        free(c->client_cert_data);
        free(c->client_key_file);
        erase_and_free(c->client_key_data, c->client_key_data_len);
        erase_and_free_string(c->token);
        free(c->token_file);
        free(c->namespace);
        *c = (KubeCredentials) {};
}
