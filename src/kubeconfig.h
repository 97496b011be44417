/* kubeconfig.h — Kubernetes client credentials from a kubeconfig (libyaml) or a service account. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef struct KubeCredentials {
        char *server;                   /* "https://host:port", no trailing slash */
        char *tls_server_name;          /* clusters[].cluster.tls-server-name, or NULL */
        bool insecure_skip_tls_verify;

        /* At most one of each pair is set. *_data hold the decoded PEM bytes. */
        char *ca_file;
        char *ca_data;
        size_t ca_data_len;
        char *client_cert_file;
        char *client_cert_data;
        size_t client_cert_data_len;
        char *client_key_file;
        char *client_key_data;
        size_t client_key_data_len;

        char *token;                    /* a static bearer token, or NULL */
        char *token_file;               /* a file holding the token, re-read when it changes */

        char *namespace;                /* the context's namespace, or NULL */
} KubeCredentials;

/* Details beyond the contracts below.
 * kubeconfig_parse():
 *   - server must start with https:// or http://. Plain http:// (no TLS at all) is allowed for a
 *     local apiserver or an authenticating proxy. Trailing slashes are dropped, a path is kept.
 *   - A context without a user, or a user without credentials ("user: {}"), is anonymous: no
 *     token and no client certificate are set.
 *   - token and token_file may both be set: client-go then sends the file's current token and
 *     falls back to the static one when the file cannot be read.
 *   - exec, auth-provider, username/password and impersonation (as, as-groups...) are -EINVAL,
 *     as are both a file and *-data for the same item, a client certificate without its key (or
 *     the reverse), and insecure-skip-tls-verify together with a CA.
 *   - insecure-skip-tls-verify is a plain YAML true or false; "yes" or a quoted "true" is -EINVAL.
 *   - Only the first YAML document is read; YAML merge keys ("<<") are not expanded.
 * kubeconfig_load(): a file over 4 MiB is -EFBIG; a kubeconfig, or an existing tokenFile, that
 *   group or others may write is -EPERM (whoever writes it picks the server and credentials);
 *   relative paths inside resolve against the
 *   absolute directory of path (a relative path is taken from the current directory).
 * kubeconfig_in_cluster(): port NULL or empty means 443; a port that is not 1-65535 is -EINVAL;
 *   a token path that cannot be stat()ed for another reason than ENOENT gives that -errno.
 * kube_token_read(): leading blank lines are skipped; a token with control characters (which
 *   would corrupt the Authorization header) is -EBADMSG. */

/* Parses a kubeconfig (YAML or JSON) from a buffer. context selects the context by name (NULL:
 * current-context). Relative file paths are resolved against base_dir (the kubeconfig's
 * directory), as kubectl does. Base64 *-data fields are decoded.
 *   0:        *ret filled (and must be released with kube_credentials_done()).
 *   -EINVAL:  not a usable kubeconfig: no such context, cluster or user, no server, bad base64,
 *             YAML syntax error...; *reterr_reason (malloc'd) says which. Never includes a token
 *             or key material in the reason.
 *   -ENOMEM. Pure. */
int kubeconfig_parse(const char *text, size_t len, const char *base_dir, const char *context,
                     KubeCredentials *ret, char **reterr_reason);

/* Reads path and parses it. -errno for I/O errors (with *reterr_reason), else as above. */
int kubeconfig_load(const char *path, const char *context, KubeCredentials *ret, char **reterr_reason);

/* The in-cluster credentials of a pod or host with a service account: server
 * https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT (host and port passed in, IPv6 host
 * bracketed), CA sa_dir/ca.crt, token file sa_dir/token, namespace from sa_dir/namespace if
 * present. sa_dir NULL means /var/run/secrets/kubernetes.io/serviceaccount.
 * 0, -ENOENT (no service account files; *reterr_reason), -EINVAL (host empty) or -ENOMEM. */
int kubeconfig_in_cluster(const char *host, const char *port, const char *sa_dir,
                          KubeCredentials *ret, char **reterr_reason);

void kube_credentials_done(KubeCredentials *c);

/* Reads a token file: the first line, trimmed. 0, -ENODATA (empty), -EFBIG (> 64 KiB), -EPERM
 * (writable by group or others) or -errno. */
int kube_token_read(const char *path, char **ret);
