/* ksm-workload.c — N processes of mergeable anonymous memory with a known KSM saving, for bench/density.py. */

/*
 * Every process maps the same layout of pages and fills it before marking it MADV_MERGEABLE
 * (as QEMU does with guest RAM). A page is one of:
 *
 *   duplicated  its content comes from a pool of "distinct" contents shared by every process
 *               of every wave (think identical guest OS pages); each content appears about
 *               --repeat times in one process;
 *   zero        all zeroes (written, so the page exists);
 *   volatile    unique, and rewritten every --volatile-ms so its checksum never settles;
 *   unique      content no other page has (think guest private data).
 *
 * The class of page p is fixed by the golden-ratio sequence frac(p * 0.618...), so the classes
 * are interleaved evenly and every process (and every wave) has exactly the same layout.
 *
 * The theoretical maximum saving follows from how KSM merges: a content present T times ends
 * as ceil(T / max_page_sharing) KSM pages (pages_shared) and T - ceil(T / max_page_sharing)
 * mappings of them (pages_sharing), which is the memory saved. Zero pages are one such content
 * when use_zero_pages is 0; with use_zero_pages 1 every zero page is mapped to the kernel's
 * zero page and counted in ksm_zero_pages instead. Unique and volatile pages save nothing.
 *
 * Wave I (--instance) keeps the duplicated pool and gets its own unique pages; the maximum it
 * prints is for waves 0..I together, assuming the earlier waves ran with the same options.
 *
 * All processes fill first; only once every one has filled do they all mark their memory
 * mergeable, so that nothing merges before "ready" (a process that finished early would
 * otherwise be merging while the others still fill).
 *
 * Output, one line each on stdout:
 *   plan procs=... pages=... dup_pages=... distinct=... zero_pages=... volatile_pages=... ...
 *   max_saved_bytes=TOTAL max_saved_bytes_added=THIS_WAVE max_saved_bytes_alone=IF_ALONE
 *   ready monotonic=SECONDS.NANOSECONDS fill_seconds=SECONDS
 * then it sleeps (rewriting the volatile pages, if any) until SIGTERM or SIGINT.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KSM_DIR "/sys/kernel/mm/ksm"
#define GOLDEN_RATIO_FRAC 0.6180339887498949

typedef enum PageClass {
        PAGE_DUP,
        PAGE_ZERO,
        PAGE_VOLATILE,
        PAGE_UNIQUE,
} PageClass;

typedef struct Options {
        unsigned procs;
        uint64_t mib;
        double dup, zero, volatile_frac;
        unsigned volatile_ms;
        unsigned repeat;
        unsigned instance;
        uint64_t seed;
        uint64_t max_page_sharing;
        int use_zero_pages;
        const char *ready_file;
        bool thp;
        bool plan_only;
} Options;

typedef struct Plan {
        size_t page_size;
        uint64_t pages, dup_pages, zero_pages, volatile_pages, unique_pages;
        uint64_t distinct;
} Plan;

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig) {
        stop_requested = sig;
}

/* splitmix64: a good 64-bit mix, used to derive page tags and seed the fill stream. */
static uint64_t mix64(uint64_t x) {
        x += 0x9e3779b97f4a7c15ULL;
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
        return x ^ (x >> 31);
}

static uint64_t tag4(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
        return mix64(mix64(mix64(mix64(a) ^ b) ^ c) ^ d);
}

static PageClass page_class(const Options *o, uint64_t p) {
        double x = (double) (p + 1) * GOLDEN_RATIO_FRAC;
        double u = x - (double) (uint64_t) x;

        if (u < o->dup)
                return PAGE_DUP;
        if (u < o->dup + o->zero)
                return PAGE_ZERO;
        if (u < o->dup + o->zero + o->volatile_frac)
                return PAGE_VOLATILE;
        return PAGE_UNIQUE;
}

/* Fills one page from a tag: word 0 is the tag, the rest an xorshift64* stream seeded by it. */
static void fill_page(uint64_t *w, size_t words, uint64_t tag) {
        uint64_t s = mix64(tag) | 1;

        w[0] = tag;
        for (size_t i = 1; i < words; i++) {
                s ^= s >> 12;
                s ^= s << 25;
                s ^= s >> 27;
                w[i] = s * 0x2545f4914f6cdd1dULL;
        }
}

static uint64_t div_round_up(uint64_t a, uint64_t b) {
        return (a + b - 1) / b;
}

/* Saved pages for one content present `copies` times (see the comment at the top). */
static uint64_t saved_for_copies(uint64_t copies, uint64_t max_page_sharing) {
        if (copies < 2)
                return 0;
        return copies - div_round_up(copies, max_page_sharing);
}

/* The theoretical maximum saving, in pages, of `waves` waves of o->procs processes each. */
static uint64_t max_saved_pages(const Options *o, const Plan *pl, uint64_t waves) {
        uint64_t procs = waves * o->procs, saved = 0;

        if (pl->distinct > 0) {
                /* Duplicated page j holds content j mod distinct: q or q + 1 copies per process. */
                uint64_t q = pl->dup_pages / pl->distinct, rem = pl->dup_pages % pl->distinct;

                saved += rem * saved_for_copies(procs * (q + 1), o->max_page_sharing);
                saved += (pl->distinct - rem) * saved_for_copies(procs * q, o->max_page_sharing);
        }
        if (o->use_zero_pages)
                saved += procs * pl->zero_pages;
        else
                saved += saved_for_copies(procs * pl->zero_pages, o->max_page_sharing);
        return saved;
}

static void make_plan(const Options *o, Plan *ret) {
        Plan pl = { .page_size = (size_t) sysconf(_SC_PAGESIZE) };

        pl.pages = o->mib * 1024 * 1024 / pl.page_size;
        for (uint64_t p = 0; p < pl.pages; p++)
                switch (page_class(o, p)) {
                case PAGE_DUP: pl.dup_pages++; break;
                case PAGE_ZERO: pl.zero_pages++; break;
                case PAGE_VOLATILE: pl.volatile_pages++; break;
                case PAGE_UNIQUE: pl.unique_pages++; break;
                }
        pl.distinct = pl.dup_pages > 0 ? div_round_up(pl.dup_pages, o->repeat) : 0;
        *ret = pl;
}

static double now_monotonic(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Reads one number from the KSM directory; `def` when the file is missing or unreadable. */
static uint64_t read_ksm_u64(const char *name, uint64_t def) {
        char path[256], buf[64];
        uint64_t v;
        FILE *f;

        snprintf(path, sizeof(path), KSM_DIR "/%s", name);
        f = fopen(path, "re");
        if (!f)
                return def;
        if (!fgets(buf, sizeof(buf), f) || sscanf(buf, "%" SCNu64, &v) != 1)
                v = def;
        fclose(f);
        return v;
}

/* One process of the workload: map, fill, say so, wait for the go (EOF on go_fd), mark the
 * memory mergeable, say so, then keep the volatile pages moving. */
static int child_main(const Options *o, const Plan *pl, unsigned index, int report_fd, int go_fd) {
        size_t words = pl->page_size / sizeof(uint64_t), len = pl->pages * pl->page_size;
        uint64_t dup_index = 0, rewrite = 0;
        uint64_t *mem;
        char c = 'f';
        ssize_t n;

        /* Die with the parent: a killed benchmark must not leave gigabytes behind. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() == 1)
                return 1;

        mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) {
                fprintf(stderr, "ksm-workload: Failed to map %zu bytes: %m\n", len);
                return 1;
        }
        /* Huge pages would be split by the first merge and make timings depend on khugepaged. */
        if (!o->thp)
                (void) madvise(mem, len, MADV_NOHUGEPAGE);

        for (uint64_t p = 0; p < pl->pages; p++) {
                uint64_t *w = mem + p * words;

                switch (page_class(o, p)) {
                case PAGE_DUP:
                        fill_page(w, words, tag4(o->seed, 1, 0, dup_index++ % pl->distinct));
                        break;
                case PAGE_ZERO:
                        memset(w, 0, pl->page_size);
                        break;
                case PAGE_VOLATILE:
                        fill_page(w, words, tag4(o->seed, 3, ((uint64_t) o->instance << 32) | index, p));
                        break;
                case PAGE_UNIQUE:
                        fill_page(w, words, tag4(o->seed, 2, ((uint64_t) o->instance << 32) | index, p));
                        break;
                }
        }

        if (write(report_fd, &c, 1) != 1)
                return 1;
        while ((n = read(go_fd, &c, 1)) < 0 && errno == EINTR)
                ;
        close(go_fd);

        if (madvise(mem, len, MADV_MERGEABLE) < 0) {
                fprintf(stderr, "ksm-workload: Failed to mark memory mergeable: %m\n");
                return 1;
        }
        c = 'm';
        if (write(report_fd, &c, 1) != 1)
                return 1;
        close(report_fd);

        if (pl->volatile_pages == 0 || o->volatile_ms == 0)
                for (;;)
                        pause();

        struct timespec next;
        clock_gettime(CLOCK_MONOTONIC, &next);
        for (;;) {
                next.tv_nsec += (long) (o->volatile_ms % 1000) * 1000000L;
                next.tv_sec += o->volatile_ms / 1000 + next.tv_nsec / 1000000000L;
                next.tv_nsec %= 1000000000L;
                while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
                        ;
                rewrite++;
                for (uint64_t p = 0; p < pl->pages; p++)
                        if (page_class(o, p) == PAGE_VOLATILE)
                                mem[p * words + 1] = rewrite;
        }
}

static void kill_children(const pid_t *pids, unsigned n) {
        for (unsigned i = 0; i < n; i++)
                if (pids[i] > 0)
                        (void) kill(pids[i], SIGKILL);
        for (unsigned i = 0; i < n; i++)
                if (pids[i] > 0)
                        (void) waitpid(pids[i], NULL, 0);
}

/* Reads `want` bytes, one per child, from the report pipe. -ECHILD when a child died, -EINTR
 * when a signal (SIGTERM, SIGINT, SIGCHLD) arrived; signals are only let in inside ppoll(). */
static int collect_reports(int fd, unsigned want, const sigset_t *unblocked) {
        unsigned got = 0;

        while (got < want) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                struct timespec timeout = { .tv_nsec = 200 * 1000 * 1000 };
                char buf[64];
                ssize_t n;
                int r;

                r = ppoll(&p, 1, &timeout, unblocked);
                if (stop_requested)
                        return stop_requested == SIGCHLD ? -ECHILD : -EINTR;
                if (r < 0 && errno != EINTR)
                        return -errno;
                if (r <= 0)
                        continue;
                n = read(fd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return -ECHILD;         /* every write end closed: someone died */
                got += (unsigned) n;
        }
        return 0;
}

static int parse_fraction(const char *s, double *ret) {
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || end == s || *end != 0 || !(v >= 0.0 && v <= 1.0))
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *ret) {
        char *end;
        unsigned long long v;

        if (*s == '-')
                return -ERANGE;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || end == s || *end != 0)
                return -EINVAL;
        if (v < lo || v > hi)
                return -ERANGE;
        *ret = v;
        return 0;
}

static void help(void) {
        printf("ksm-workload [OPTIONS]\n"
               "Maps, fills and marks MADV_MERGEABLE anonymous memory in N processes, prints the\n"
               "theoretical maximum KSM saving, prints 'ready', then sleeps until killed.\n\n"
               "  -n, --procs N             processes (default 1)\n"
               "  -m, --mib M               MiB of memory per process (default 64)\n"
               "  -d, --dup F               fraction of pages with duplicated content (default 0.75)\n"
               "  -z, --zero F              fraction of zero pages (default 0)\n"
               "  -v, --volatile F          fraction of pages rewritten all the time (default 0)\n"
               "      --volatile-ms MS      rewrite period of the volatile pages (default 100)\n"
               "  -r, --repeat R            copies of each duplicated content per process (default 16)\n"
               "  -i, --instance I          wave number: 0 first; later waves share the duplicated\n"
               "                            content and get their own unique pages (default 0)\n"
               "      --seed S              content seed (default 1)\n"
               "      --max-page-sharing M  for the maximum (default: " KSM_DIR "/max_page_sharing)\n"
               "      --use-zero-pages 0|1  for the maximum (default: " KSM_DIR "/use_zero_pages)\n"
               "      --ready-file PATH     also create PATH once the memory is ready\n"
               "      --thp                 allow transparent huge pages (default: MADV_NOHUGEPAGE)\n"
               "      --plan                print the plan and the maximum, then exit\n");
}

static int parse_argv(int argc, char *argv[], Options *o) {
        enum { ARG_VOLATILE_MS = 0x100, ARG_SEED, ARG_MPS, ARG_UZP, ARG_READY, ARG_THP, ARG_PLAN };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "procs", required_argument, NULL, 'n' },
                { "mib", required_argument, NULL, 'm' },
                { "dup", required_argument, NULL, 'd' },
                { "zero", required_argument, NULL, 'z' },
                { "volatile", required_argument, NULL, 'v' },
                { "volatile-ms", required_argument, NULL, ARG_VOLATILE_MS },
                { "repeat", required_argument, NULL, 'r' },
                { "instance", required_argument, NULL, 'i' },
                { "seed", required_argument, NULL, ARG_SEED },
                { "max-page-sharing", required_argument, NULL, ARG_MPS },
                { "use-zero-pages", required_argument, NULL, ARG_UZP },
                { "ready-file", required_argument, NULL, ARG_READY },
                { "thp", no_argument, NULL, ARG_THP },
                { "plan", no_argument, NULL, ARG_PLAN },
                {}
        };
        uint64_t v;
        int c, r = 0;

        while ((c = getopt_long(argc, argv, "hn:m:d:z:v:r:i:", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        exit(0);
                case 'n':
                        r = parse_u64(optarg, 1, 1024, &v);
                        o->procs = (unsigned) v;
                        break;
                case 'm':
                        r = parse_u64(optarg, 1, 1024 * 1024, &o->mib);
                        break;
                case 'd':
                        r = parse_fraction(optarg, &o->dup);
                        break;
                case 'z':
                        r = parse_fraction(optarg, &o->zero);
                        break;
                case 'v':
                        r = parse_fraction(optarg, &o->volatile_frac);
                        break;
                case ARG_VOLATILE_MS:
                        r = parse_u64(optarg, 1, 3600 * 1000, &v);
                        o->volatile_ms = (unsigned) v;
                        break;
                case 'r':
                        r = parse_u64(optarg, 1, 1u << 30, &v);
                        o->repeat = (unsigned) v;
                        break;
                case 'i':
                        r = parse_u64(optarg, 0, 1u << 20, &v);
                        o->instance = (unsigned) v;
                        break;
                case ARG_SEED:
                        r = parse_u64(optarg, 0, UINT64_MAX, &o->seed);
                        break;
                case ARG_MPS:
                        r = parse_u64(optarg, 2, UINT32_MAX, &o->max_page_sharing);
                        break;
                case ARG_UZP:
                        r = parse_u64(optarg, 0, 1, &v);
                        o->use_zero_pages = (int) v;
                        break;
                case ARG_READY:
                        o->ready_file = optarg;
                        break;
                case ARG_THP:
                        o->thp = true;
                        break;
                case ARG_PLAN:
                        o->plan_only = true;
                        break;
                default:
                        return -EINVAL;
                }
                if (r < 0) {
                        fprintf(stderr, "ksm-workload: Invalid value for option '%s': %s\n",
                                argv[optind - 1], optarg);
                        return r;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "ksm-workload: Unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        if (o->dup + o->zero + o->volatile_frac > 1.0 + 1e-9) {
                fprintf(stderr, "ksm-workload: --dup + --zero + --volatile exceed 1\n");
                return -EINVAL;
        }
        return 0;
}

int main(int argc, char *argv[]) {
        Options o = {
                .procs = 1,
                .mib = 64,
                .dup = 0.75,
                .volatile_ms = 100,
                .repeat = 16,
                .seed = 1,
                .max_page_sharing = read_ksm_u64("max_page_sharing", 256),
                .use_zero_pages = read_ksm_u64("use_zero_pages", 0) != 0,
        };
        struct sigaction sa = { .sa_handler = on_stop };
        sigset_t mask, old;
        unsigned started = 0;
        int report[2], go[2];
        double t0, t_filled;
        pid_t *pids;
        Plan pl;
        int r;

        if (parse_argv(argc, argv, &o) < 0)
                return 2;
        if (o.max_page_sharing < 2)
                o.max_page_sharing = 2;

        make_plan(&o, &pl);
        setvbuf(stdout, NULL, _IOLBF, 0);
        printf("plan procs=%u mib=%" PRIu64 " page_size=%zu pages=%" PRIu64 " dup_pages=%" PRIu64
               " distinct=%" PRIu64 " zero_pages=%" PRIu64 " volatile_pages=%" PRIu64
               " unique_pages=%" PRIu64 " instance=%u seed=%" PRIu64 " max_page_sharing=%" PRIu64
               " use_zero_pages=%d\n",
               o.procs, o.mib, pl.page_size, pl.pages, pl.dup_pages, pl.distinct, pl.zero_pages,
               pl.volatile_pages, pl.unique_pages, o.instance, o.seed, o.max_page_sharing,
               o.use_zero_pages);
        {
                uint64_t total = max_saved_pages(&o, &pl, o.instance + 1);
                uint64_t before = max_saved_pages(&o, &pl, o.instance);
                uint64_t alone = max_saved_pages(&o, &pl, 1);

                printf("max_saved_bytes=%" PRIu64 " max_saved_bytes_added=%" PRIu64
                       " max_saved_bytes_alone=%" PRIu64 "\n",
                       total * pl.page_size, (total - before) * pl.page_size, alone * pl.page_size);
        }
        if (o.plan_only)
                return 0;

        /* SIGTERM/SIGINT/SIGCHLD stay blocked except inside sigsuspend(), so none is lost. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, &old);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGCHLD, &sa, NULL);

        pids = calloc(o.procs, sizeof(pid_t));
        if (!pids || pipe2(report, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0) {
                fprintf(stderr, "ksm-workload: Failed to set up: %m\n");
                return 1;
        }

        t0 = now_monotonic();
        for (unsigned i = 0; i < o.procs; i++) {
                pid_t pid = fork();

                if (pid < 0) {
                        fprintf(stderr, "ksm-workload: Failed to fork: %m\n");
                        kill_children(pids, started);
                        return 1;
                }
                if (pid == 0) {
                        sigprocmask(SIG_SETMASK, &old, NULL);
                        signal(SIGTERM, SIG_DFL);
                        signal(SIGINT, SIG_DFL);
                        signal(SIGCHLD, SIG_DFL);
                        close(report[0]);
                        close(go[1]);
                        _exit(child_main(&o, &pl, i, report[1], go[0]));
                }
                pids[i] = pid;
                started++;
        }
        close(report[1]);
        close(go[0]);

        /* Filled everywhere: then the go, all at once (EOF on go), and every process marks its memory. */
        r = collect_reports(report[0], o.procs, &old);
        t_filled = now_monotonic();
        close(go[1]);
        if (r >= 0)
                r = collect_reports(report[0], o.procs, &old);
        close(report[0]);
        if (r < 0) {
                if (r == -ECHILD)
                        fprintf(stderr, "ksm-workload: A process died before its memory was ready\n");
                kill_children(pids, started);
                return r == -EINTR ? 0 : 1;
        }

        {
                double t = now_monotonic();

                if (o.ready_file) {
                        int fd = open(o.ready_file, O_WRONLY | O_CREAT | O_CLOEXEC | O_TRUNC, 0644);

                        if (fd < 0)
                                fprintf(stderr, "ksm-workload: Failed to create '%s', ignoring: %m\n",
                                        o.ready_file);
                        else
                                close(fd);
                }
                printf("ready monotonic=%.9f fill_seconds=%.3f mark_seconds=%.6f\n",
                       t, t_filled - t0, t - t_filled);
        }

        while (!stop_requested)
                sigsuspend(&old);

        kill_children(pids, started);
        free(pids);
        return stop_requested == SIGCHLD ? 1 : 0;
}
