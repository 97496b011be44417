/* fuzz-kubeconfig.c — fuzz target: a kubeconfig (YAML or JSON), for its current context and for a
 * named one, and the same bytes as a token file. A result is usable as documented in kubeconfig.h (an http(s) server without trailing
 * slash, at most one of each file/data pair, a certificate only with its key, no CA together with
 * insecure-skip-tls-verify); a refusal says why without echoing the credentials. */
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "kubeconfig.h"

static bool has_prefix(const char *s, const char *p) {
        return strncmp(s, p, strlen(p)) == 0;
}

static void check_credentials(const KubeCredentials *c) {
        size_t n;

        fuzz_check(c->server);
        fuzz_check(has_prefix(c->server, "https://") || has_prefix(c->server, "http://"));
        n = strlen(c->server);
        fuzz_check(n > 0 && c->server[n - 1] != '/');
        fuzz_check(!(c->ca_file && c->ca_data));
        fuzz_check(!(c->client_cert_file && c->client_cert_data));
        fuzz_check(!(c->client_key_file && c->client_key_data));
        fuzz_check(!!(c->client_cert_file || c->client_cert_data) == !!(c->client_key_file || c->client_key_data));
        fuzz_check(!(c->insecure_skip_tls_verify && (c->ca_file || c->ca_data)));
        fuzz_check(c->ca_data || c->ca_data_len == 0);
        fuzz_check(c->client_cert_data || c->client_cert_data_len == 0);
        fuzz_check(c->client_key_data || c->client_key_data_len == 0);
        /* Relative paths were resolved against the base directory. */
        fuzz_check(!c->ca_file || c->ca_file[0] == '/');
        fuzz_check(!c->client_cert_file || c->client_cert_file[0] == '/');
        fuzz_check(!c->client_key_file || c->client_key_file[0] == '/');
        fuzz_check(!c->token_file || c->token_file[0] == '/');
}

static const uint8_t *input;
static size_t input_size;

static size_t input_count(const char *needle) {
        size_t count = 0, n = strlen(needle);

        for (const uint8_t *p = input; p && (size_t) (input + input_size - p) >= n; p++) {
                p = memmem(p, (size_t) (input + input_size - p), needle, n);
                if (!p)
                        break;
                count++;
        }
        return count;
}

static void check_reason(const char *reason, const KubeCredentials *ok) {
        fuzz_check(reason && *reason);
        /* A token that the other parse found must not show up in this refusal (when the input
         * holds its text only once, so that no name or path can legitimately equal it). */
        if (ok && ok->token && strlen(ok->token) >= 8 && input_count(ok->token) == 1)
                fuzz_check(!strstr(reason, ok->token));
}

/* kube_token_read() of the bytes: a token is one trimmed line of the file, without control
 * characters (it goes into an Authorization header). */
static void check_token_file(const uint8_t *data, size_t size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *token = NULL;
        char path[64];
        size_t n;
        int r;

        fd = memfd_create("fuzz-token", MFD_CLOEXEC);
        /* 0600: a token file that group or others may write is refused. */
        if (fd < 0 || fchmod(fd, 0600) < 0 || (size > 0 && write(fd, data, size) != (ssize_t) size))
                return;
        (void) snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

        r = kube_token_read(path, &token);
        fuzz_check(r == 0 || r == -ENODATA || r == -EBADMSG || r == -EFBIG || r == -ENOMEM);
        fuzz_check(r != -EFBIG || size > 64 * 1024);
        if (r < 0)
                return;
        n = strlen(token);
        fuzz_check(n > 0 && memmem(data, size, token, n));
        for (size_t i = 0; i < n; i++)
                fuzz_check((unsigned char) token[i] >= 0x20 && token[i] != 0x7f);
        fuzz_check(token[0] != ' ' && token[n - 1] != ' ');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const contexts[] = { NULL, "ksmd" };
        KubeCredentials creds[ELEMENTSOF(contexts)] = {};
        char *reasons[ELEMENTSOF(contexts)] = {};
        int r[ELEMENTSOF(contexts)];

        if (size > 256 * 1024)
                return 0;
        input = data;
        input_size = size;

        for (size_t i = 0; i < ELEMENTSOF(contexts); i++) {
                r[i] = kubeconfig_parse((const char *) data, size, "/etc/kubevirt-ksmd", contexts[i],
                                        &creds[i], &reasons[i]);
                fuzz_check(r[i] == 0 || r[i] == -EINVAL || r[i] == -ENOMEM);
                if (r[i] == 0) {
                        fuzz_check(!reasons[i]);
                        check_credentials(&creds[i]);
                }
        }
        for (size_t i = 0; i < ELEMENTSOF(contexts); i++)
                if (r[i] == -EINVAL)
                        check_reason(reasons[i], r[!i] == 0 ? &creds[!i] : NULL);

        for (size_t i = 0; i < ELEMENTSOF(contexts); i++) {
                if (r[i] == 0)
                        kube_credentials_done(&creds[i]);
                free(reasons[i]);
        }

        check_token_file(data, size);
        return 0;
}
