/* test-kubeconfig.c — table tests of kubeconfig parsing, loading, the in-cluster fallback and token files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kubeconfig.h"
#include "macro.h"
#include "test-tables.h"

#ifndef FIXTURES_DIR
#define FIXTURES_DIR "tests/fixtures"
#endif

/* Every error case carries this token: no reason may ever contain it. */
#define SECRET "SECRET-TOKEN-123"

#define PEM_CA "-----BEGIN CERTIFICATE-----\nMIIBdzCCAR2gAwIBAgIBADAKBggqhkjOPQQDAjAjMSEwHwYDVQQDDBhrM3Mtc2Vy\n-----END CERTIFICATE-----\n"
#define B64_CA "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJkekNDQVIyZ0F3SUJBZ0lCQURBS0JnZ3Foa2pPUFFRREFqQWpNU0V3SHdZRFZRUUREQmhyTTNNdGMyVnkKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="
#define PEM_CERT "-----BEGIN CERTIFICATE-----\nCLIENTCERT\n-----END CERTIFICATE-----\n"
#define B64_CERT "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNMSUVOVENFUlQKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="
#define PEM_KEY "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIKEYMATERIAL\n-----END EC PRIVATE KEY-----\n"
#define B64_KEY "LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVFSUtFWU1BVEVSSUFMCi0tLS0tRU5EIEVDIFBSSVZBVEUgS0VZLS0tLS0K"

#define BASE "/etc/kubevirt-ksmd"
#define SERVER "https://10.0.0.1:6443"

/* A kubeconfig with one cluster "c", one user "u" and one context "ctx" (the current one). The
 * bodies are mapping lines indented by four spaces; an empty body is a null mapping. */
#define KC(cluster_body, user_body)                                                     \
        "apiVersion: v1\nkind: Config\ncurrent-context: ctx\n"                          \
        "clusters:\n- name: c\n  cluster:\n" cluster_body                               \
        "users:\n- name: u\n  user:\n" user_body                                        \
        "contexts:\n- name: ctx\n  context:\n    cluster: c\n    user: u\n"
#define SRV "    server: " SERVER "\n"
#define TOK "    token: " SECRET "\n"

/* The three-context configuration of the selection cases. */
#define MULTI(current)                                                                  \
        "apiVersion: v1\nkind: Config\n" current                                        \
        "clusters:\n"                                                                   \
        "- name: prod\n  cluster:\n    server: https://prod.example.com\n"              \
        "- name: dev\n  cluster:\n    server: https://dev.example.com:8443/\n"          \
        "users:\n"                                                                      \
        "- name: admin\n  user:\n    token: " SECRET "\n"                               \
        "- name: viewer\n  user:\n    token: viewer-token\n"                            \
        "- name: robot\n  user:\n    exec:\n      command: get-token\n"                 \
        "contexts:\n"                                                                   \
        "- name: prod-admin\n  context:\n    cluster: prod\n    user: admin\n"          \
        "- name: dev-viewer\n  context:\n    cluster: dev\n    user: viewer\n    namespace: kubevirt\n" \
        "- name: dev-anonymous\n  context:\n    cluster: dev\n"                         \
        "- name: missing-cluster\n  context:\n    cluster: qa\n    user: admin\n"       \
        "- name: missing-user\n  context:\n    cluster: prod\n    user: nobody\n"       \
        "- name: no-cluster\n  context:\n    user: admin\n"                             \
        "- name: robot\n  context:\n    cluster: prod\n    user: robot\n"

typedef struct Want {
        const char *server, *tls_server_name;
        bool insecure;
        const char *ca_file, *ca_data;
        const char *client_cert_file, *client_cert_data;
        const char *client_key_file, *client_key_data;
        const char *token, *token_file;
        const char *namespace;
} Want;

typedef struct ParseCase {
        const char *name;
        const char *text;
        const char *context;
        int r;
        const char *reason;     /* on error: a substring of the reason */
        Want want;
        const char *base_dir;   /* NULL: BASE */
        bool no_base_dir;
        size_t len;             /* 0: strlen(text) */
} ParseCase;

static const ParseCase parse_cases[] = {
        /* Selection */
        { "minimal token config", KC(SRV, TOK), NULL, 0, NULL, { .server = SERVER, .token = SECRET } },
        { "current-context selects the context", MULTI("current-context: dev-viewer\n"), NULL, 0, NULL,
          { .server = "https://dev.example.com:8443", .token = "viewer-token", .namespace = "kubevirt" } },
        { "explicit context overrides current-context", MULTI("current-context: dev-viewer\n"), "prod-admin", 0, NULL,
          { .server = "https://prod.example.com", .token = SECRET } },
        { "explicit context without current-context", MULTI(""), "prod-admin", 0, NULL,
          { .server = "https://prod.example.com", .token = SECRET } },
        { "empty explicit context means current-context", MULTI("current-context: prod-admin\n"), "", 0, NULL,
          { .server = "https://prod.example.com", .token = SECRET } },
        { "explicit context not found", MULTI("current-context: prod-admin\n"), "nope", -EINVAL,
          "context \"nope\" not found" },
        { "current-context names a missing context", MULTI("current-context: gone\n"), NULL, -EINVAL,
          "context \"gone\" not found" },
        { "no context given and no current-context", MULTI(""), NULL, -EINVAL,
          "no context given and current-context is not set" },
        { "current-context empty string", MULTI("current-context: \"\"\n"), NULL, -EINVAL,
          "current-context is not set" },
        { "missing cluster", MULTI(""), "missing-cluster", -EINVAL,
          "cluster \"qa\" (of context \"missing-cluster\") not found" },
        { "missing user", MULTI(""), "missing-user", -EINVAL,
          "user \"nobody\" (of context \"missing-user\") not found" },
        { "context without a cluster", MULTI(""), "no-cluster", -EINVAL, "context \"no-cluster\" names no cluster" },
        { "context without a user is anonymous", MULTI(""), "dev-anonymous", 0, NULL,
          { .server = "https://dev.example.com:8443" } },
        { "exec in a user that is not selected is ignored", MULTI("current-context: robot\n"), "prod-admin", 0, NULL,
          { .server = "https://prod.example.com", .token = SECRET } },
        { "exec in the selected user is rejected", MULTI("current-context: robot\n"), NULL, -EINVAL,
          "user \"robot\" uses exec credentials, which kubevirt-ksmd does not support; use a token or client certificate" },
        { "context with a null body", "current-context: x\nclusters: []\ncontexts:\n- name: x\n  context:\n", NULL,
          -EINVAL, "context \"x\" names no cluster" },
        { "no contexts at all", "current-context: x\n", NULL, -EINVAL, "context \"x\" not found" },

        /* Users */
        { "user with an empty mapping is anonymous", KC(SRV, "    {}\n"), NULL, 0, NULL, { .server = SERVER } },
        { "user with a null body is anonymous", KC(SRV, ""), NULL, 0, NULL, { .server = SERVER } },
        { "user entry without a user key is anonymous",
          "current-context: ctx\nclusters:\n- name: c\n  cluster:\n" SRV "users:\n- name: u\n"
          "contexts:\n- name: ctx\n  context: {cluster: c, user: u}\n", NULL, 0, NULL, { .server = SERVER } },
        { "tokenFile, relative", KC(SRV, "    tokenFile: secrets/token\n"), NULL, 0, NULL,
          { .server = SERVER, .token_file = BASE "/secrets/token" } },
        { "tokenFile, absolute", KC(SRV, "    tokenFile: /run/secrets/token\n"), NULL, 0, NULL,
          { .server = SERVER, .token_file = "/run/secrets/token" } },
        { "token and tokenFile both kept", KC(SRV, TOK "    tokenFile: /t\n"), NULL, 0, NULL,
          { .server = SERVER, .token = SECRET, .token_file = "/t" } },
        { "empty token is unset", KC(SRV, "    token: \"\"\n"), NULL, 0, NULL, { .server = SERVER } },
        { "null token is unset", KC(SRV, "    token: ~\n"), NULL, 0, NULL, { .server = SERVER } },
        { "quoted token", KC(SRV, "    token: 'abc.def-ghi'\n"), NULL, 0, NULL, { .server = SERVER, .token = "abc.def-ghi" } },
        { "token with a line break is rejected", KC(SRV, "    token: \"" SECRET "\\r\\nX-Evil: 1\"\n"), NULL, -EINVAL,
          "user \"u\": token contains control characters" },
        { "token with a NUL byte is rejected", KC(SRV, "    token: \"" SECRET "\\0\"\n"), NULL, -EINVAL,
          "user \"u\": token contains a NUL byte" },
        { "token a mapping is rejected", KC(SRV, "    token: {" SECRET ": 1}\n"), NULL, -EINVAL,
          "line 11: user \"u\": token must be a string, not a mapping" },
        { "client certificate and key data",
          KC(SRV, "    client-certificate-data: " B64_CERT "\n    client-key-data: " B64_KEY "\n"), NULL, 0, NULL,
          { .server = SERVER, .client_cert_data = PEM_CERT, .client_key_data = PEM_KEY } },
        { "client certificate and key files, relative",
          KC(SRV, "    client-certificate: pki/client.crt\n    client-key: ./pki/client.key\n"), NULL, 0, NULL,
          { .server = SERVER, .client_cert_file = BASE "/pki/client.crt", .client_key_file = BASE "/./pki/client.key" } },
        { "client certificate file, key data",
          KC(SRV, "    client-certificate: /pki/c.crt\n    client-key-data: " B64_KEY "\n"), NULL, 0, NULL,
          { .server = SERVER, .client_cert_file = "/pki/c.crt", .client_key_data = PEM_KEY } },
        { "client certificate and token together",
          KC(SRV, TOK "    client-certificate-data: " B64_CERT "\n    client-key-data: " B64_KEY "\n"), NULL, 0, NULL,
          { .server = SERVER, .token = SECRET, .client_cert_data = PEM_CERT, .client_key_data = PEM_KEY } },
        { "client certificate without a key", KC(SRV, TOK "    client-certificate: c.crt\n"), NULL, -EINVAL,
          "user \"u\" has a client certificate but no client key" },
        { "client key without a certificate", KC(SRV, TOK "    client-key-data: " B64_KEY "\n"), NULL, -EINVAL,
          "user \"u\" has a client key but no client certificate" },
        { "client certificate file and data both",
          KC(SRV, TOK "    client-certificate: c.crt\n    client-certificate-data: " B64_CERT "\n    client-key: k\n"),
          NULL, -EINVAL, "user \"u\": client-certificate and client-certificate-data are both set" },
        { "client key file and data both",
          KC(SRV, TOK "    client-certificate: c.crt\n    client-key: k\n    client-key-data: " B64_KEY "\n"),
          NULL, -EINVAL, "user \"u\": client-key and client-key-data are both set" },
        { "client key data, bad base64",
          KC(SRV, TOK "    client-certificate-data: " B64_CERT "\n    client-key-data: " SECRET "!\n"), NULL, -EINVAL,
          "line 13: user \"u\": client-key-data is not valid base64" },
        { "exec user rejected", KC(SRV, TOK "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: aws\n"),
          NULL, -EINVAL,
          "user \"u\" uses exec credentials, which kubevirt-ksmd does not support; use a token or client certificate" },
        { "exec: null is no exec", KC(SRV, TOK "    exec: null\n"), NULL, 0, NULL, { .server = SERVER, .token = SECRET } },
        { "auth-provider rejected", KC(SRV, TOK "    auth-provider:\n      name: oidc\n"), NULL, -EINVAL,
          "user \"u\" uses an auth-provider, which kubevirt-ksmd does not support; use a token or client certificate" },
        { "username and password rejected", KC(SRV, "    username: admin\n    password: " SECRET "\n"), NULL, -EINVAL,
          "user \"u\" uses basic authentication (username/password), which kubevirt-ksmd does not support" },
        { "password alone rejected", KC(SRV, "    password: " SECRET "\n"), NULL, -EINVAL,
          "uses basic authentication (username/password)" },
        { "impersonation rejected", KC(SRV, TOK "    as: system:admin\n"), NULL, -EINVAL,
          "user \"u\" uses impersonation (as), which kubevirt-ksmd does not support" },

        /* Clusters */
        { "server trailing slashes stripped", KC("    server: https://10.0.0.1:6443///\n", TOK), NULL, 0, NULL,
          { .server = SERVER, .token = SECRET } },
        { "server path kept", KC("    server: https://rancher.example.com/k8s/clusters/c-m-1/\n", TOK), NULL, 0, NULL,
          { .server = "https://rancher.example.com/k8s/clusters/c-m-1", .token = SECRET } },
        { "server IPv6", KC("    server: https://[fd00::1]:6443\n", TOK), NULL, 0, NULL,
          { .server = "https://[fd00::1]:6443", .token = SECRET } },
        { "server http accepted", KC("    server: http://127.0.0.1:8080\n", ""), NULL, 0, NULL,
          { .server = "http://127.0.0.1:8080" } },
        { "server scheme case normalized", KC("    server: HTTPS://Example.COM\n", ""), NULL, 0, NULL,
          { .server = "https://Example.COM" } },
        { "server without scheme", KC("    server: 10.0.0.1:6443\n", TOK), NULL, -EINVAL,
          "cluster \"c\": server must start with https:// or http://" },
        { "server of another scheme", KC("    server: ftp://x\n", TOK), NULL, -EINVAL, "must start with https:// or http://" },
        { "server only a scheme", KC("    server: https:///\n", TOK), NULL, -EINVAL, "cluster \"c\": server has no host" },
        { "server with a space", KC("    server: \"https://a b\"\n", TOK), NULL, -EINVAL,
          "cluster \"c\": server contains whitespace or control characters" },
        { "server missing", KC("    insecure-skip-tls-verify: true\n", TOK), NULL, -EINVAL, "cluster \"c\" has no server" },
        { "cluster null", KC("", TOK), NULL, -EINVAL, "cluster \"c\" has no server" },
        { "server a sequence", KC("    server: [a]\n", TOK), NULL, -EINVAL,
          "line 7: cluster \"c\": server must be a string, not a sequence" },
        { "CA data decoded equals the PEM text", KC(SRV "    certificate-authority-data: " B64_CA "\n", TOK), NULL, 0, NULL,
          { .server = SERVER, .ca_data = PEM_CA, .token = SECRET } },
        { "CA data wrapped over lines",
          KC(SRV "    certificate-authority-data: |\n      LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJkekNDQVIyZ0F3SUJB\n"
             "      Z0lCQURBS0JnZ3Foa2pPUFFRREFqQWpNU0V3SHdZRFZRUUREQmhyTTNNdGMy\n"
             "      VnkKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=\n", TOK), NULL, 0, NULL,
          { .server = SERVER, .ca_data = PEM_CA, .token = SECRET } },
        { "CA data, one padding byte", KC(SRV "    certificate-authority-data: YWJj\n", ""), NULL, 0, NULL,
          { .server = SERVER, .ca_data = "abc" } },
        { "CA data, two padding bytes", KC(SRV "    certificate-authority-data: \"YWI=\"\n", ""), NULL, 0, NULL,
          { .server = SERVER, .ca_data = "ab" } },
        { "CA data, three padding bytes", KC(SRV "    certificate-authority-data: YQ==\n", ""), NULL, 0, NULL,
          { .server = SERVER, .ca_data = "a" } },
        { "CA data empty is unset", KC(SRV "    certificate-authority-data: \"\"\n", ""), NULL, 0, NULL,
          { .server = SERVER } },
        { "CA data, junk character", KC(SRV "    certificate-authority-data: YW*j\n", TOK), NULL, -EINVAL,
          "line 8: cluster \"c\": certificate-authority-data is not valid base64" },
        { "CA data, URL-safe alphabet", KC(SRV "    certificate-authority-data: YW-_\n", TOK), NULL, -EINVAL,
          "certificate-authority-data is not valid base64" },
        { "CA data, truncated", KC(SRV "    certificate-authority-data: YWJjZ\n", TOK), NULL, -EINVAL,
          "certificate-authority-data is not valid base64" },
        { "CA data, missing padding", KC(SRV "    certificate-authority-data: YWI\n", TOK), NULL, -EINVAL,
          "certificate-authority-data is not valid base64" },
        { "CA data, data after padding", KC(SRV "    certificate-authority-data: YQ==YWJj\n", TOK), NULL, -EINVAL,
          "certificate-authority-data is not valid base64" },
        { "CA data, padding in the middle", KC(SRV "    certificate-authority-data: Y=Jj\n", TOK), NULL, -EINVAL,
          "certificate-authority-data is not valid base64" },
        { "CA data, three padding characters", KC(SRV "    certificate-authority-data: Y===\n", TOK), NULL, -EINVAL,
          "certificate-authority-data is not valid base64" },
        { "CA data a mapping", KC(SRV "    certificate-authority-data: {}\n", TOK), NULL, -EINVAL,
          "cluster \"c\": certificate-authority-data must be a base64 string, not a mapping" },
        { "CA file relative", KC(SRV "    certificate-authority: ca.crt\n", TOK), NULL, 0, NULL,
          { .server = SERVER, .ca_file = BASE "/ca.crt", .token = SECRET } },
        { "CA file relative with ..", KC(SRV "    certificate-authority: ../pki/ca.crt\n", TOK), NULL, 0, NULL,
          { .server = SERVER, .ca_file = BASE "/../pki/ca.crt", .token = SECRET } },
        { "CA file absolute kept", KC(SRV "    certificate-authority: /etc/pki/ca.crt\n", TOK), NULL, 0, NULL,
          { .server = SERVER, .ca_file = "/etc/pki/ca.crt", .token = SECRET } },
        { "CA file relative, base dir with a trailing slash", KC(SRV "    certificate-authority: ca.crt\n", TOK), NULL, 0,
          NULL, { .server = SERVER, .ca_file = "/srv/kube/ca.crt", .token = SECRET }, "/srv/kube//" },
        { "CA file relative, base dir /", KC(SRV "    certificate-authority: ca.crt\n", TOK), NULL, 0,
          NULL, { .server = SERVER, .ca_file = "/ca.crt", .token = SECRET }, "/" },
        { "CA file relative, no base dir", KC(SRV "    certificate-authority: ca.crt\n", TOK), NULL, 0,
          NULL, { .server = SERVER, .ca_file = "ca.crt", .token = SECRET }, NULL, true },
        { "CA file and data both", KC(SRV "    certificate-authority: ca.crt\n    certificate-authority-data: " B64_CA "\n", TOK),
          NULL, -EINVAL, "cluster \"c\": certificate-authority and certificate-authority-data are both set" },
        { "insecure true", KC(SRV "    insecure-skip-tls-verify: true\n", TOK), NULL, 0, NULL,
          { .server = SERVER, .insecure = true, .token = SECRET } },
        { "insecure True", KC(SRV "    insecure-skip-tls-verify: True\n", TOK), NULL, 0, NULL,
          { .server = SERVER, .insecure = true, .token = SECRET } },
        { "insecure false", KC(SRV "    insecure-skip-tls-verify: false\n", TOK), NULL, 0, NULL,
          { .server = SERVER, .token = SECRET } },
        { "insecure null", KC(SRV "    insecure-skip-tls-verify:\n", TOK), NULL, 0, NULL,
          { .server = SERVER, .token = SECRET } },
        { "insecure quoted is a string", KC(SRV "    insecure-skip-tls-verify: \"true\"\n", TOK), NULL, -EINVAL,
          "line 8: cluster \"c\": insecure-skip-tls-verify must be true or false" },
        { "insecure yes rejected", KC(SRV "    insecure-skip-tls-verify: yes\n", TOK), NULL, -EINVAL,
          "insecure-skip-tls-verify must be true or false" },
        { "insecure 1 rejected", KC(SRV "    insecure-skip-tls-verify: 1\n", TOK), NULL, -EINVAL,
          "insecure-skip-tls-verify must be true or false" },
        { "insecure with a CA rejected",
          KC(SRV "    insecure-skip-tls-verify: true\n    certificate-authority: ca.crt\n", TOK), NULL, -EINVAL,
          "cluster \"c\": insecure-skip-tls-verify cannot be combined with a certificate authority" },
        { "tls-server-name", KC(SRV "    tls-server-name: kubernetes.default.svc\n", TOK), NULL, 0, NULL,
          { .server = SERVER, .tls_server_name = "kubernetes.default.svc", .token = SECRET } },
        { "unknown keys ignored", KC(SRV "    proxy-url: http://proxy\n    extensions: []\n", TOK "    foo: bar\n"),
          NULL, 0, NULL, { .server = SERVER, .token = SECRET } },

        /* Syntax and structure */
        { "YAML syntax error has a line number",
          "apiVersion: v1\nclusters:\n- name: c\n  cluster:\n    server: \"https://x\n    token: " SECRET "\n",
          NULL, -EINVAL, "YAML syntax error at line 7" },
        { "YAML bad indentation has a line number",
          "apiVersion: v1\nusers:\n- name: u\n  user:\n    token: " SECRET "\n   bad: [\n", NULL, -EINVAL,
          "YAML syntax error at line 6" },
        { "YAML tab indentation", "users:\n\t- name: " SECRET "\n", NULL, -EINVAL, "YAML syntax error at line 2" },
        { "YAML undefined alias", "current-context: *nothing\n", NULL, -EINVAL, "YAML syntax error at line 1" },
        { "invalid UTF-8", "current-context: \"\xff\xfe" SECRET "\"\n", NULL, -EINVAL, "YAML error at byte" },
        { "JSON kubeconfig",
          "{\n  \"kind\": \"Config\",\n  \"apiVersion\": \"v1\",\n  \"preferences\": {},\n"
          "  \"clusters\": [\n    {\n      \"name\": \"c\",\n      \"cluster\": {\n"
          "        \"server\": \"https://10.0.0.1:6443\",\n"
          "        \"certificate-authority-data\": \"" B64_CA "\",\n"
          "        \"tls-server-name\": \"api\"\n      }\n    }\n  ],\n"
          "  \"users\": [\n    {\n      \"name\": \"u\",\n      \"user\": {\n"
          "        \"token\": \"" SECRET "\"\n      }\n    }\n  ],\n"
          "  \"contexts\": [\n    {\n      \"name\": \"ctx\",\n      \"context\": {\n"
          "        \"cluster\": \"c\",\n        \"user\": \"u\",\n        \"namespace\": \"ns\"\n      }\n    }\n  ],\n"
          "  \"current-context\": \"ctx\"\n}\n", NULL, 0, NULL,
          { .server = SERVER, .tls_server_name = "api", .ca_data = PEM_CA, .token = SECRET, .namespace = "ns" } },
        { "JSON kubeconfig, compact",
          "{\"apiVersion\":\"v1\",\"kind\":\"Config\",\"clusters\":[{\"name\":\"c\",\"cluster\":{\"server\":\"" SERVER "\","
          "\"insecure-skip-tls-verify\":true}}],\"users\":[{\"name\":\"u\",\"user\":{\"tokenFile\":\"t\"}}],"
          "\"contexts\":[{\"name\":\"ctx\",\"context\":{\"cluster\":\"c\",\"user\":\"u\"}}],\"current-context\":\"ctx\"}",
          NULL, 0, NULL, { .server = SERVER, .insecure = true, .token_file = BASE "/t" } },
        { "JSON kubeconfig, quoted boolean rejected",
          "{\"clusters\":[{\"name\":\"c\",\"cluster\":{\"server\":\"" SERVER "\",\"insecure-skip-tls-verify\":\"true\"}}],"
          "\"contexts\":[{\"name\":\"ctx\",\"context\":{\"cluster\":\"c\"}}],\"current-context\":\"ctx\"}",
          NULL, -EINVAL, "insecure-skip-tls-verify must be true or false" },
        { "JSON kubeconfig, syntax error", "{\"clusters\": [}", NULL, -EINVAL, "YAML syntax error at line 1" },
        { "empty input", "", NULL, -EINVAL, "kubeconfig is empty" },
        { "only a comment", "# nothing here\n", NULL, -EINVAL, "kubeconfig is empty" },
        { "only a document start", "---\n", NULL, -EINVAL, "kubeconfig is empty" },
        { "an explicit null document", "--- ~\n", NULL, -EINVAL, "kubeconfig is empty" },
        { "root a sequence", "- a\n- b\n", NULL, -EINVAL, "line 1: kubeconfig must be a mapping, not a sequence" },
        { "root a scalar", SECRET "\n", NULL, -EINVAL, "kubeconfig must be a mapping, not a scalar" },
        { "clusters a mapping", "current-context: ctx\ncontexts:\n- name: ctx\n  context: {cluster: c}\nclusters:\n  c: {}\n",
          NULL, -EINVAL, "line 6: clusters must be a sequence, not a mapping" },
        { "cluster entry a scalar", "current-context: ctx\ncontexts:\n- name: ctx\n  context: {cluster: c}\nclusters:\n- c\n",
          NULL, -EINVAL, "line 6: clusters[0] must be a mapping, not a scalar" },
        { "cluster body a sequence",
          "current-context: ctx\ncontexts:\n- name: ctx\n  context: {cluster: c}\nclusters:\n- name: c\n  cluster: [x]\n",
          NULL, -EINVAL, "line 7: clusters[0]: cluster must be a mapping, not a sequence" },
        { "duplicate cluster name",
          "current-context: ctx\ncontexts:\n- name: ctx\n  context: {cluster: c}\n"
          "clusters:\n- name: c\n  cluster: {server: https://a}\n- name: c\n  cluster: {server: https://b}\n",
          NULL, -EINVAL, "line 8: clusters[1]: duplicate name \"c\"" },
        { "duplicate key", KC(SRV, TOK "    token: other\n"), NULL, -EINVAL, "line 12: duplicate key \"token\"" },
        { "kind not Config", "kind: Pod\ncurrent-context: x\n", NULL, -EINVAL, "kind \"Pod\" is not Config" },
        { "apiVersion not v1", "apiVersion: v2\n", NULL, -EINVAL, "apiVersion \"v2\" is not v1" },
        { "without apiVersion and kind",
          "current-context: ctx\ncontexts:\n- name: ctx\n  context: {cluster: c}\nclusters:\n- name: c\n  cluster: {server: https://a}\n",
          NULL, 0, NULL, { .server = "https://a" } },
        { "anchors and aliases resolve",
          "current-context: ctx\nclusters:\n- name: c\n  cluster: &cl {server: \"" SERVER "\"}\n"
          "- name: d\n  cluster: *cl\ncontexts:\n- name: ctx\n  context: {cluster: d}\n",
          NULL, 0, NULL, { .server = SERVER } },
        { "a second document is ignored", KC(SRV, TOK) "---\n: bad : [\n", NULL, 0, NULL,
          { .server = SERVER, .token = SECRET } },
        { "control characters in names are replaced", "current-context: \"a\\tb\\e[31m\"\n", NULL, -EINVAL,
          "context \"a?b?[31m\" not found" },
        { "text with a NUL byte", "current-context: x\0y\n", NULL, -EINVAL, "YAML", .len = 20 },
        { "flow style throughout",
          "{clusters: [{name: c, cluster: {server: 'https://h/'}}], contexts: [{name: x, context: {cluster: c, namespace: n}}],"
          " current-context: x}", NULL, 0, NULL, { .server = "https://h", .namespace = "n" } },
};

/* want NULL: got must be NULL. Otherwise got must equal want. */
static void check_str(const char *case_name, const char *what, const char *got, const char *want) {
        if (!want) {
                if (got)
                        fail_msg("%s: %s is \"%s\", expected NULL", case_name, what, got);
                return;
        }
        if (!got)
                fail_msg("%s: %s is NULL, expected \"%s\"", case_name, what, want);
        if (!streq(got, want))
                fail_msg("%s: %s is \"%s\", expected \"%s\"", case_name, what, got, want);
}

static void check_data(const char *case_name, const char *what, const char *got, size_t got_len, const char *want) {
        if (!want) {
                if (got || got_len != 0)
                        fail_msg("%s: %s is set (%zu bytes), expected NULL", case_name, what, got_len);
                return;
        }
        if (!got)
                fail_msg("%s: %s is NULL", case_name, what);
        if (got_len != strlen(want) || memcmp(got, want, got_len) != 0)
                fail_msg("%s: %s is %zu bytes \"%.*s\", expected \"%s\"", case_name, what, got_len,
                         (int) got_len, got, want);
}

static void check_creds(const char *name, const KubeCredentials *c, const Want *w) {
        check_str(name, "server", c->server, w->server);
        check_str(name, "tls_server_name", c->tls_server_name, w->tls_server_name);
        if (c->insecure_skip_tls_verify != w->insecure)
                fail_msg("%s: insecure_skip_tls_verify is %s", name, c->insecure_skip_tls_verify ? "true" : "false");
        check_str(name, "ca_file", c->ca_file, w->ca_file);
        check_data(name, "ca_data", c->ca_data, c->ca_data_len, w->ca_data);
        check_str(name, "client_cert_file", c->client_cert_file, w->client_cert_file);
        check_data(name, "client_cert_data", c->client_cert_data, c->client_cert_data_len, w->client_cert_data);
        check_str(name, "client_key_file", c->client_key_file, w->client_key_file);
        check_data(name, "client_key_data", c->client_key_data, c->client_key_data_len, w->client_key_data);
        check_str(name, "token", c->token, w->token);
        check_str(name, "token_file", c->token_file, w->token_file);
        check_str(name, "namespace", c->namespace, w->namespace);
}

static void test_parse(void **state) {
        const ParseCase *c = *state;
        _cleanup_(kube_credentials_done) KubeCredentials creds = {};
        _cleanup_free_ char *reason = NULL;
        const char *base = c->no_base_dir ? NULL : c->base_dir ?: BASE;
        size_t len = c->len > 0 ? c->len : strlen(c->text);
        int r;

        r = kubeconfig_parse(c->text, len, base, c->context, &creds, &reason);
        if (r != c->r)
                fail_msg("%s: kubeconfig_parse() = %d (%s), expected %d", c->name, r, strna(reason), c->r);

        if (r < 0) {
                if (!reason)
                        fail_msg("%s: no reason", c->name);
                if (!strstr(reason, c->reason))
                        fail_msg("%s: reason \"%s\" does not contain \"%s\"", c->name, reason, c->reason);
                /* Secrets never appear in a reason, whatever broke. */
                if (strstr(reason, SECRET) || strstr(reason, "KEYMATERIAL") || strstr(reason, "viewer-token"))
                        fail_msg("%s: reason \"%s\" leaks a secret", c->name, reason);
                for (const char *s = reason; *s; s++)
                        if ((unsigned char) *s < 0x20)
                                fail_msg("%s: reason contains a control character", c->name);
                if (creds.server || creds.token)
                        fail_msg("%s: credentials filled on failure", c->name);

                /* Without reterr_reason, the error still comes back. */
                if (kubeconfig_parse(c->text, len, base, c->context, &creds, NULL) != c->r)
                        fail_msg("%s: different result without reterr_reason", c->name);
                return;
        }

        if (reason)
                fail_msg("%s: reason \"%s\" set on success", c->name, reason);
        check_creds(c->name, &creds, &c->want);
}

/* A token and a broken field in every position: the reason never carries the token. */
static void test_secret_not_leaked(void **state) {
        static const char *const texts[] = {
                KC(SRV "    certificate-authority-data: YW$j\n", TOK),
                KC("    server: " SECRET "\n", TOK),
                KC(SRV, TOK "    client-key-data: " SECRET "\n    client-certificate: c\n"),
                KC(SRV, "    token: [" SECRET "]\n"),
                KC(SRV, "    token: \"" SECRET "\n"),
                KC(SRV, "    token: " SECRET "\n    exec: {command: " SECRET "}\n"),
                KC(SRV, "    token: &" SECRET " x\n    tokenFile: *" SECRET "x\n"),
                KC(SRV "    insecure-skip-tls-verify: " SECRET "\n", TOK),
                "current-context: ctx\ncontexts: " SECRET "\n",
                "token: " SECRET "\n\t",
        };

        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                _cleanup_(kube_credentials_done) KubeCredentials creds = {};
                _cleanup_free_ char *reason = NULL;
                int r;

                r = kubeconfig_parse(texts[i], strlen(texts[i]), BASE, NULL, &creds, &reason);
                if (r != -EINVAL)
                        fail_msg("secret text %zu: kubeconfig_parse() = %d, expected -EINVAL", i, r);
                if (!reason || strstr(reason, SECRET))
                        fail_msg("secret text %zu: reason \"%s\" leaks the token", i, strna(reason));
        }
}

static void test_done(void **state) {
        KubeCredentials c = {};
        char *reason = NULL;

        kube_credentials_done(NULL);
        kube_credentials_done(&c);

        assert_int_equal(kubeconfig_parse(KC(SRV, TOK), strlen(KC(SRV, TOK)), BASE, NULL, &c, &reason), 0);
        assert_null(reason);
        kube_credentials_done(&c);
        assert_null(c.server);
        assert_null(c.token);
        kube_credentials_done(&c);
}

/* ------------------------------------------------------------------------------------------ */
/* Files: kubeconfig_load(), kube_token_read(), kubeconfig_in_cluster() */

static char *make_tmpdir(void) {
        char *t = strdup("/tmp/test-kubeconfig-XXXXXX");

        assert_non_null(t);
        assert_non_null(mkdtemp(t));
        return t;
}

static char *path_join(const char *dir, const char *name) {
        size_t n = strlen(dir) + 1 + strlen(name) + 1;
        char *p = malloc(n);

        assert_non_null(p);
        (void) snprintf(p, n, "%s/%s", dir, name);
        return p;
}

static void write_file(const char *dir, const char *name, const char *data, size_t size) {
        _cleanup_free_ char *p = path_join(dir, name);
        _cleanup_fclose_ FILE *f = NULL;

        f = fopen(p, "we");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, size, f), size);
        assert_int_equal(fclose(TAKE_PTR(f)), 0);
}

/* Removes a directory tree of plain files and directories, one level of nesting at most. */
static void rm_tree(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                p = path_join(dir, de->d_name);
                if (unlink(p) < 0)
                        rm_tree(p);
        }
        closedir(d);
        (void) rmdir(dir);
}

static void rm_tree_freep(char **p) {
        if (*p) {
                rm_tree(*p);
                free(*p);
        }
}
#define _cleanup_rm_tree_ _cleanup_(rm_tree_freep)

typedef struct LoadCase {
        const char *name;
        const char *file;       /* under FIXTURES_DIR */
        const char *context;
        int r;
        const char *reason;
        Want want;              /* paths relative to FIXTURES_DIR get it prepended: see test_load */
} LoadCase;

#define FIX(p) "@" p            /* a path under FIXTURES_DIR */

static const LoadCase load_cases[] = {
        { "load: kind cluster with client certificate data", "kubeconfig-kind.yaml", NULL, 0, NULL,
          { .server = "https://127.0.0.1:40337", .ca_data = PEM_CA, .client_cert_data = PEM_CERT,
            .client_key_data = PEM_KEY } },
        { "load: token with relative paths", "kubeconfig-token.yaml", NULL, 0, NULL,
          { .server = "https://api.cluster.example.com:6443", .tls_server_name = "kubernetes",
            .ca_file = FIX("pki/ca.crt"), .token_file = FIX("token"), .namespace = "kubevirt" } },
        { "load: token file, other context", "kubeconfig-token.yaml", "static", 0, NULL,
          { .server = "https://api.cluster.example.com:6443", .tls_server_name = "kubernetes",
            .ca_file = FIX("pki/ca.crt"), .token = "static-token" } },
        { "load: JSON", "kubeconfig-json.yaml", NULL, 0, NULL,
          { .server = "https://[2001:db8::10]:6443", .insecure = true, .client_cert_file = "/etc/kubernetes/pki/ksmd.crt",
            .client_key_file = FIX("ksmd.key") } },
        { "load: exec (EKS) rejected", "kubeconfig-exec.yaml", NULL, -EINVAL,
          "user \"arn:aws:eks:eu-west-1:123456789012:cluster/prod\" uses exec credentials, which kubevirt-ksmd "
          "does not support; use a token or client certificate" },
        { "load: missing file", "kubeconfig-does-not-exist.yaml", NULL, -ENOENT, "kubeconfig-does-not-exist.yaml: " },
};

static char *fixture_path(const char *p) {
        return path_join(FIXTURES_DIR, p);
}

static void test_load(void **state) {
        const LoadCase *c = *state;
        _cleanup_(kube_credentials_done) KubeCredentials creds = {};
        _cleanup_free_ char *reason = NULL, *path = fixture_path(c->file), *dir = NULL;
        _cleanup_free_ char *ca = NULL, *cert = NULL, *key = NULL, *token_file = NULL;
        Want w = c->want;
        int r;

        r = kubeconfig_load(path, c->context, &creds, &reason);
        if (r != c->r)
                fail_msg("%s: kubeconfig_load() = %d (%s), expected %d", c->name, r, strna(reason), c->r);
        if (r < 0) {
                if (!reason || !strstr(reason, c->reason))
                        fail_msg("%s: reason \"%s\" does not contain \"%s\"", c->name, strna(reason), c->reason);
                return;
        }

        /* The fixtures directory as kubeconfig_load() sees it: absolute. */
        if (FIXTURES_DIR[0] == '/')
                dir = strdup(FIXTURES_DIR);
        else {
                _cleanup_free_ char *cwd = getcwd(NULL, 0);

                assert_non_null(cwd);
                dir = path_join(cwd, FIXTURES_DIR);
        }
        assert_non_null(dir);

#define RESOLVE(field, var)                                             \
        if (w.field && w.field[0] == '@') {                             \
                var = path_join(dir, w.field + 1);                      \
                w.field = var;                                          \
        }
        RESOLVE(ca_file, ca);
        RESOLVE(client_cert_file, cert);
        RESOLVE(client_key_file, key);
        RESOLVE(token_file, token_file);
#undef RESOLVE

        check_creds(c->name, &creds, &w);
}

static void test_load_relative_path(void **state) {
        _cleanup_rm_tree_ char *dir = make_tmpdir();
        _cleanup_(kube_credentials_done) KubeCredentials creds = {};
        _cleanup_free_ char *reason = NULL, *cwd = getcwd(NULL, 0), *sub = NULL, *want = NULL;
        static const char text[] = KC(SRV "    certificate-authority: ca.crt\n", TOK);

        assert_non_null(cwd);
        sub = path_join(dir, "sub");
        assert_int_equal(mkdir(sub, 0755), 0);
        write_file(sub, "config", text, strlen(text));
        write_file(dir, "config", text, strlen(text));

        /* A relative kubeconfig path: relative paths inside resolve against its absolute directory. */
        assert_int_equal(chdir(dir), 0);
        assert_int_equal(kubeconfig_load("sub/config", NULL, &creds, &reason), 0);
        want = path_join(sub, "ca.crt");
        assert_string_equal(creds.ca_file, want);
        kube_credentials_done(&creds);
        free(want);

        assert_int_equal(kubeconfig_load("config", NULL, &creds, &reason), 0);
        want = path_join(dir, "ca.crt");
        assert_string_equal(creds.ca_file, want);
        assert_int_equal(chdir(cwd), 0);
        assert_null(reason);
}

static void test_load_limits(void **state) {
        _cleanup_rm_tree_ char *dir = make_tmpdir();
        _cleanup_(kube_credentials_done) KubeCredentials creds = {};
        _cleanup_free_ char *reason = NULL, *big = NULL, *path = NULL;
        static const char text[] = KC(SRV, TOK);
        size_t size = 4 * 1024 * 1024;

        /* Exactly 4 MiB is read: the config, padded with a comment. */
        big = malloc(size + 1);
        assert_non_null(big);
        memset(big, ' ', size + 1);
        memcpy(big, text, strlen(text));
        big[strlen(text)] = '#';
        big[size - 1] = '\n';
        write_file(dir, "exact", big, size);
        path = path_join(dir, "exact");
        assert_int_equal(kubeconfig_load(path, NULL, &creds, &reason), 0);
        assert_string_equal(creds.token, SECRET);
        free(path);

        /* One byte more is refused. */
        write_file(dir, "big", big, size + 1);
        path = path_join(dir, "big");
        assert_int_equal(kubeconfig_load(path, NULL, &creds, &reason), -EFBIG);
        assert_non_null(strstr(reason, "larger than 4 MiB"));
        free(path);

        /* A directory is an I/O error. */
        free(reason);
        reason = NULL;
        path = strdup(dir);
        assert_int_equal(kubeconfig_load(path, NULL, &creds, &reason), -EISDIR);
        assert_non_null(strstr(reason, dir));

        /* An empty file. */
        free(path);
        free(reason);
        reason = NULL;
        write_file(dir, "empty", "", 0);
        path = path_join(dir, "empty");
        assert_int_equal(kubeconfig_load(path, NULL, &creds, &reason), -EINVAL);
        assert_string_equal(reason, "kubeconfig is empty");
}

typedef struct TokenCase {
        const char *name;
        const char *content;    /* NULL: no file */
        size_t len;             /* 0: strlen(content) */
        int r;
        const char *token;
        mode_t mode;            /* 0: as created (umask) */
} TokenCase;

static const TokenCase token_cases[] = {
        { "token: trailing newline trimmed", "abc.def\n", 0, 0, "abc.def" },
        { "token: no newline", "abc.def", 0, 0, "abc.def" },
        { "token: CRLF and spaces trimmed", "  abc.def \t\r\n", 0, 0, "abc.def" },
        { "token: only the first line", "abc\nsecond line\n", 0, 0, "abc" },
        { "token: leading blank lines skipped", "\n\n  abc\n", 0, 0, "abc" },
        { "token: empty file", "", 0, -ENODATA },
        { "token: only whitespace", " \n\r\n\t\n", 0, -ENODATA },
        { "token: NUL ends the text", "abc\0def", 7, 0, "abc" },
        { "token: control character rejected", "ab\x01" "cd\n", 0, -EBADMSG },
        { "token: carriage return inside rejected", "ab\rX-Evil: 1\n", 0, -EBADMSG },
        { "token: missing file", NULL, 0, -ENOENT },
        { "token: mode 0600", "abc\n", 0, 0, "abc", 0600 },
        { "token: mode 0644 (a projected service-account token)", "abc\n", 0, 0, "abc", 0644 },
        { "token: group-writable refused", "abc\n", 0, -EPERM, NULL, 0620 },
        { "token: world-writable refused", "abc\n", 0, -EPERM, NULL, 0606 },
};

static void test_token_read(void **state) {
        const TokenCase *c = *state;
        _cleanup_rm_tree_ char *dir = make_tmpdir();
        _cleanup_free_ char *path = path_join(dir, "token"), *token = NULL;
        int r;

        if (c->content)
                write_file(dir, "token", c->content, c->len > 0 ? c->len : strlen(c->content));
        if (c->mode)
                assert_int_equal(chmod(path, c->mode), 0);

        r = kube_token_read(path, &token);
        if (r != c->r)
                fail_msg("%s: kube_token_read() = %d, expected %d", c->name, r, c->r);
        if (r < 0) {
                if (token)
                        fail_msg("%s: token set on failure", c->name);
                return;
        }
        check_str(c->name, "token", token, c->token);
}

/* Whoever may write the kubeconfig or its token file picks the server and the credentials. */
typedef struct ModeCase {
        const char *name;
        mode_t kubeconfig, token;       /* token 0: no token file */
        int r;
        const char *reason;
} ModeCase;

static const ModeCase mode_cases[] = {
        { "modes: 0600 kubeconfig, 0600 token file", 0600, 0600, 0 },
        { "modes: 0644 kubeconfig, 0644 token file", 0644, 0644, 0 },
        { "modes: group-writable kubeconfig refused", 0660, 0600, -EPERM, "is writable by group or others; refusing it" },
        { "modes: world-writable kubeconfig refused", 0602, 0, -EPERM, "is writable by group or others; refusing it" },
        { "modes: group-writable token file refused", 0600, 0620, -EPERM, "token file " },
        { "modes: world-writable token file refused", 0600, 0666, -EPERM, "is writable by group or others" },
        { "modes: a token file that does not exist yet is fine", 0600, 0, 0 },
};

static void test_modes(void **state) {
        static const char text[] = "apiVersion: v1\nclusters:\n- name: c\n  cluster:\n    server: https://k:6443\n"
                "users:\n- name: u\n  user:\n    tokenFile: token\ncontexts:\n- name: x\n  context:\n    cluster: c\n"
                "    user: u\ncurrent-context: x\n";
        const ModeCase *c = *state;
        _cleanup_rm_tree_ char *dir = make_tmpdir();
        _cleanup_free_ char *path = path_join(dir, "config"), *token = path_join(dir, "token"), *reason = NULL;
        _cleanup_(kube_credentials_done) KubeCredentials creds = {};
        int r;

        write_file(dir, "config", text, strlen(text));
        assert_int_equal(chmod(path, c->kubeconfig), 0);
        if (c->token) {
                write_file(dir, "token", "abc\n", 4);
                assert_int_equal(chmod(token, c->token), 0);
        }

        r = kubeconfig_load(path, NULL, &creds, &reason);
        if (r != c->r)
                fail_msg("%s: kubeconfig_load() = %d (%s), expected %d", c->name, r, strna(reason), c->r);
        if (c->reason && (!reason || !strstr(reason, c->reason)))
                fail_msg("%s: reason \"%s\" does not contain \"%s\"", c->name, strna(reason), c->reason);
        if (r < 0 && creds.server)
                fail_msg("%s: credentials kept on failure", c->name);
}

static void test_token_read_limits(void **state) {
        _cleanup_rm_tree_ char *dir = make_tmpdir();
        _cleanup_free_ char *big = NULL, *path = NULL, *token = NULL;
        size_t size = 64 * 1024;

        big = malloc(size + 1);
        assert_non_null(big);
        memset(big, 'a', size + 1);

        write_file(dir, "exact", big, size);
        path = path_join(dir, "exact");
        assert_int_equal(kube_token_read(path, &token), 0);
        assert_int_equal(strlen(token), size);
        free(path);

        write_file(dir, "big", big, size + 1);
        path = path_join(dir, "big");
        assert_int_equal(kube_token_read(path, &token), -EFBIG);
        free(path);

        path = strdup(dir);
        assert_int_equal(kube_token_read(path, &token), -EISDIR);
}

typedef struct InClusterCase {
        const char *name;
        const char *host, *port;
        bool token, ca, namespace;      /* which service account files exist */
        const char *namespace_content;
        int r;
        const char *server;             /* or, on error, the reason (substring) */
        const char *namespace_want;
} InClusterCase;

static const InClusterCase in_cluster_cases[] = {
        { "in-cluster: IPv4", "10.96.0.1", "443", true, true, true, "kubevirt\n", 0, "https://10.96.0.1:443", "kubevirt" },
        { "in-cluster: IPv6 bracketed", "fd00::1", "443", true, true, true, "ns", 0, "https://[fd00::1]:443", "ns" },
        { "in-cluster: IPv6 already bracketed", "[fd00::1]", "6443", true, true, false, NULL, 0, "https://[fd00::1]:6443" },
        { "in-cluster: host name", "kubernetes.default.svc", "443", true, false, false, NULL, 0,
          "https://kubernetes.default.svc:443" },
        { "in-cluster: no port means 443", "10.96.0.1", NULL, true, true, true, "ns", 0, "https://10.96.0.1:443", "ns" },
        { "in-cluster: empty port means 443", "10.96.0.1", "", true, true, false, NULL, 0, "https://10.96.0.1:443" },
        { "in-cluster: no ca.crt leaves the CA unset", "10.96.0.1", "443", true, false, true, "ns", 0, "https://10.96.0.1:443", "ns" },
        { "in-cluster: empty namespace file", "10.96.0.1", "443", true, true, true, "\n", 0, "https://10.96.0.1:443" },
        { "in-cluster: missing token", "10.96.0.1", "443", false, true, true, "ns", -ENOENT, "/token: " },
        { "in-cluster: no host", NULL, "443", true, true, true, "ns", -EINVAL, "KUBERNETES_SERVICE_HOST is not set" },
        { "in-cluster: empty host", "", "443", true, true, true, "ns", -EINVAL, "KUBERNETES_SERVICE_HOST is not set" },
        { "in-cluster: host with a path", "10.0.0.1/x", "443", true, true, true, "ns", -EINVAL,
          "KUBERNETES_SERVICE_HOST is not a host name or address" },
        { "in-cluster: host with a space", "10.0.0.1 x", "443", true, true, true, "ns", -EINVAL,
          "KUBERNETES_SERVICE_HOST is not a host name or address" },
        { "in-cluster: port not a number", "10.0.0.1", "https", true, true, true, "ns", -EINVAL,
          "KUBERNETES_SERVICE_PORT is not a port number" },
        { "in-cluster: port 0", "10.0.0.1", "0", true, true, true, "ns", -EINVAL, "is not a port number" },
        { "in-cluster: port too large", "10.0.0.1", "65536", true, true, true, "ns", -EINVAL, "is not a port number" },
        { "in-cluster: port huge", "10.0.0.1", "99999999999999999999999", true, true, true, "ns", -EINVAL,
          "is not a port number" },
        { "in-cluster: port signed", "10.0.0.1", "+443", true, true, true, "ns", -EINVAL, "is not a port number" },
};

static void test_in_cluster(void **state) {
        const InClusterCase *c = *state;
        _cleanup_rm_tree_ char *dir = make_tmpdir();
        _cleanup_(kube_credentials_done) KubeCredentials creds = {};
        _cleanup_free_ char *reason = NULL, *token_file = path_join(dir, "token"), *ca_file = path_join(dir, "ca.crt");
        int r;

        if (c->token)
                write_file(dir, "token", "eyJhbGciOi.x.y\n", 15);
        if (c->ca)
                write_file(dir, "ca.crt", PEM_CA, strlen(PEM_CA));
        if (c->namespace)
                write_file(dir, "namespace", c->namespace_content, strlen(c->namespace_content));

        r = kubeconfig_in_cluster(c->host, c->port, dir, &creds, &reason);
        if (r != c->r)
                fail_msg("%s: kubeconfig_in_cluster() = %d (%s), expected %d", c->name, r, strna(reason), c->r);
        if (r < 0) {
                if (!reason || !strstr(reason, c->server))
                        fail_msg("%s: reason \"%s\" does not contain \"%s\"", c->name, strna(reason), c->server);
                if (creds.server)
                        fail_msg("%s: credentials filled on failure", c->name);
                return;
        }

        check_creds(c->name, &creds, &(Want) {
                .server = c->server,
                .ca_file = c->ca ? ca_file : NULL,
                .token_file = token_file,
                .namespace = c->namespace_want,
        });
}

static void test_in_cluster_default_dir(void **state) {
        _cleanup_(kube_credentials_done) KubeCredentials creds = {};
        _cleanup_free_ char *reason = NULL;
        struct stat st;
        int r;

        /* The default directory: present only inside a pod. */
        r = kubeconfig_in_cluster("10.96.0.1", "443", NULL, &creds, &reason);
        if (stat("/var/run/secrets/kubernetes.io/serviceaccount/token", &st) >= 0) {
                assert_int_equal(r, 0);
                assert_string_equal(creds.token_file, "/var/run/secrets/kubernetes.io/serviceaccount/token");
        } else {
                assert_int_equal(r, -ENOENT);
                assert_string_equal(reason, "/var/run/secrets/kubernetes.io/serviceaccount/token: No such file or directory");
        }
}

#define N_CASES (ELEMENTSOF(parse_cases) + ELEMENTSOF(load_cases) + ELEMENTSOF(token_cases) + \
                 ELEMENTSOF(in_cluster_cases) + ELEMENTSOF(mode_cases))

int main(void) {
        struct CMUnitTest tests[N_CASES + 6];
        size_t n = 0;

        TEST_ADD_TABLE(tests, n, parse_cases, test_parse);
        TEST_ADD_TABLE(tests, n, load_cases, test_load);
        TEST_ADD_TABLE(tests, n, token_cases, test_token_read);
        TEST_ADD_TABLE(tests, n, mode_cases, test_modes);
        TEST_ADD_TABLE(tests, n, in_cluster_cases, test_in_cluster);

        tests[n++] = (struct CMUnitTest) { .name = "secrets never appear in reasons", .test_func = test_secret_not_leaked };
        tests[n++] = (struct CMUnitTest) { .name = "kube_credentials_done() on NULL, empty and twice", .test_func = test_done };
        tests[n++] = (struct CMUnitTest) { .name = "load: relative kubeconfig path", .test_func = test_load_relative_path };
        tests[n++] = (struct CMUnitTest) { .name = "load: 4 MiB limit, directory, empty file", .test_func = test_load_limits };
        tests[n++] = (struct CMUnitTest) { .name = "token: 64 KiB limit, directory", .test_func = test_token_read_limits };
        tests[n++] = (struct CMUnitTest) { .name = "in-cluster: default service account directory",
                                           .test_func = test_in_cluster_default_dir };

        if (n != ELEMENTSOF(tests))
                abort();
        return test_run_group("kubeconfig", tests, n);
}
