/* One workload of the real-program corpus in C with glibc: malloc'd (or mmap'd) memory, or descriptors.
 *
 *   gcc -O2 -o workload workload.c -lm && ./workload --window 50 --retain 8 --churn 40 --pattern random --cycle 1
 *
 * The shape is laid out over the recording window (--window seconds), as in the other runtimes'
 * workloads: --base is held from the start, --retain is added between --ramp-start and --ramp-end
 * (shares of the window; only when a churn cycle ends with --retain-at-cycle), and --churn comes and
 * goes by --pattern (sawtooth, waves, random, none) every --cycle seconds. Memory units of
 * --chunk-kib are malloc'd and written (--alloc mmap maps each one instead): glibc serves blocks of
 * 128 KiB and more with their own mappings until one is freed, then raises its threshold, so freed
 * mid-sized blocks may stay resident. Units are released oldest first (--release newest: last in,
 * first out). Descriptors are /dev/null.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double window_s = 80, seconds = 0, base = 0, retain = 0, ramp_start = 0, ramp_end = 1;
static double churn = 0, cycle = 10, churn_trend = 0, chunk_kib = 64, tick = 0.05;
static int fds = 0, use_mmap = 0, retain_at_cycle = 0, newest_first = 0;
static unsigned long long state = 1;
static char pattern[16] = "none";

static double uniform(void) { /* xorshift64*: one seed, one shape */
    state ^= state >> 12; state ^= state << 25; state ^= state >> 27;
    return (double)((state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct { intptr_t *units; size_t count, capacity; } Pool;

static intptr_t make(size_t bytes) {
    if (fds) return open("/dev/null", O_RDONLY);
    char *p = use_mmap ? mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) : malloc(bytes);
    if (p == MAP_FAILED || p == NULL) { perror("allocation"); exit(1); }
    memset(p, 1, bytes);
    return (intptr_t)p;
}

static void release(intptr_t unit, size_t bytes) {
    if (fds) close((int)unit);
    else if (use_mmap) munmap((void *)unit, bytes);
    else free((void *)unit);
}

/* By default units are released oldest first, as requests finish in about the order they came: the
 * newest block stays at the top of the heap, so glibc cannot trim what was freed below it. */
static void resize(Pool *pool, size_t count, size_t bytes) {
    if (count > pool->capacity) {
        pool->capacity = count * 2;
        pool->units = realloc(pool->units, pool->capacity * sizeof *pool->units);
    }
    while (pool->count < count) pool->units[pool->count++] = make(bytes);
    while (newest_first && pool->count > count) release(pool->units[--pool->count], bytes);
    if (pool->count > count) {
        size_t gone = pool->count - count;
        for (size_t i = 0; i < gone; i++) release(pool->units[i], bytes);
        memmove(pool->units, pool->units + gone, count * sizeof *pool->units);
        pool->count = count;
    }
}

static int last_cycle = 0;
static double wave_end = 0, next_wave = 0, height = 0, amount = 0, next_random = 0;

static double churn_target(double s, int *ended) {
    double scale = fmax(1 + churn_trend * s / window_s, 0);
    *ended = 0;
    if (!strcmp(pattern, "sawtooth")) {
        int c = (int)(s / cycle);
        *ended = c != last_cycle;
        last_cycle = c;
        return churn * scale * fmod(s, cycle) / cycle;
    }
    if (!strcmp(pattern, "waves")) {
        if (s >= next_wave) {
            height = churn * scale * (0.3 + 0.7 * uniform());
            wave_end = s + cycle * (0.5 + uniform());
            next_wave = wave_end + cycle * (0.15 + 0.35 * uniform());
        }
        if (s >= wave_end && height > 0) { height = 0; *ended = 1; }
        return height;
    }
    if (!strcmp(pattern, "random")) {
        if (s >= next_random) { amount = churn * scale * uniform(); next_random = s + cycle; }
        return amount;
    }
    return 0;
}

int main(int argc, char **argv) {
    static struct option options[] = {
        {"window", 1, 0, 'w'}, {"seconds", 1, 0, 's'}, {"resource", 1, 0, 'r'}, {"base", 1, 0, 'b'},
        {"retain", 1, 0, 'R'}, {"ramp-start", 1, 0, 'a'}, {"ramp-end", 1, 0, 'e'}, {"retain-at-cycle", 0, 0, 'A'},
        {"churn", 1, 0, 'c'}, {"pattern", 1, 0, 'p'}, {"cycle", 1, 0, 'C'}, {"churn-trend", 1, 0, 'T'},
        {"chunk-kib", 1, 0, 'k'}, {"seed", 1, 0, 'S'}, {"tick", 1, 0, 't'}, {"alloc", 1, 0, 'm'}, {"release", 1, 0, 'o'}, {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (o) {
        case 'w': window_s = atof(optarg); break;
        case 's': seconds = atof(optarg); break;
        case 'r': fds = !strcmp(optarg, "fds"); break;
        case 'b': base = atof(optarg); break;
        case 'R': retain = atof(optarg); break;
        case 'a': ramp_start = atof(optarg); break;
        case 'e': ramp_end = atof(optarg); break;
        case 'A': retain_at_cycle = 1; break;
        case 'c': churn = atof(optarg); break;
        case 'p': snprintf(pattern, sizeof pattern, "%s", optarg); break;
        case 'C': cycle = atof(optarg); break;
        case 'T': churn_trend = atof(optarg); break;
        case 'k': chunk_kib = atof(optarg); break;
        case 'S': state = strtoull(optarg, NULL, 10) * 0x9E3779B97F4A7C15ULL + 1; break;
        case 't': tick = atof(optarg); break;
        case 'm': use_mmap = !strcmp(optarg, "mmap"); break;
        case 'o': newest_first = !strcmp(optarg, "newest"); break;
        default: return 2;
        }
    }
    if (seconds <= 0) seconds = window_s + 30;
    size_t bytes = (size_t)(chunk_kib * 1024);
    double per_unit = fds ? 1 : 1024 / chunk_kib;
    Pool held = {0}, retained = {0}, transient = {0};
    resize(&held, (size_t)llround(base * per_unit), bytes);
    double started = now(), s;
    while ((s = now() - started) < seconds) {
        int ended;
        double wanted = churn_target(s, &ended);
        resize(&transient, ended ? 0 : (size_t)llround(wanted * per_unit), bytes);
        if (!retain_at_cycle || ended) {
            double done = fmin(fmax((s / window_s - ramp_start) / fmax(ramp_end - ramp_start, 1e-9), 0), 1);
            resize(&retained, (size_t)llround(retain * per_unit * done), bytes);
        }
        struct timespec pause = {(time_t)tick, (long)(fmod(tick, 1) * 1e9)};
        nanosleep(&pause, NULL);
    }
    return 0;
}
