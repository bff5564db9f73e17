/* Copyright (c) 2026 The Sotto authors. ISC license, see LICENSE. */
/* Helpers shared by the server store tests (header only: each test is one
 * program). */
#ifndef SOTTO_TEST_STORE_TEST_H
#define SOTTO_TEST_STORE_TEST_H

#include <dirent.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server/store.h"
#include "sotto/error.h"
#include "sotto/util.h"
#include "testutil.h"

/* A fresh data directory under $TMPDIR (or /tmp). */
static inline void st_tmpdir(char *buf, size_t cap, const char *tag)
{
	const char *t = getenv("TMPDIR");

	snprintf(buf, cap, "%s/sotto-%s-XXXXXX", t != NULL && *t != '\0' ? t : "/tmp", tag);
	if (mkdtemp(buf) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
}

/* Removes a data directory made by st_tmpdir (two levels deep at most). */
static inline void st_rmdir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char p[2048];
		struct stat sb;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (snprintf(p, sizeof p, "%s/%.255s", path, e->d_name) >= (int)sizeof p)
			continue;
		if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
			st_rmdir(p);
		else
			unlink(p);
	}
	closedir(d);
	rmdir(path);
}

static inline sotto_store *st_open(const char *dir, const sotto_store_config *over)
{
	sotto_store_config cfg = { 0 };
	sotto_store *st = NULL;
	char err[256];
	int rc;

	if (over != NULL)
		cfg = *over;
	cfg.data_dir = dir;
	rc = sotto_store_open_sqlite(&st, &cfg, err, sizeof err);
	if (rc != 0) {
		fprintf(stderr, "store open failed: %s (%s)\n", sotto_strerror(rc), err);
		exit(1);
	}
	return st;
}

/* Opens the database file directly (for checks behind the store's back). */
static inline sqlite3 *st_raw(const char *dir)
{
	char p[1024];
	sqlite3 *db = NULL;

	snprintf(p, sizeof p, "%s/sotto.db", dir);
	if (sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		fprintf(stderr, "cannot open %s\n", p);
		exit(1);
	}
	sqlite3_busy_timeout(db, 5000);
	return db;
}

/* The first column of the first row of sql, as an integer (-1 on error). */
static inline long long st_raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	long long v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* A device with keys derived from a seed. */
static inline void st_device(sotto_store_new_device *d, uint64_t seed)
{
	static uint8_t names[8][32];
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;

	memset(d, 0, sizeof *d);
	d->registration_id = (uint32_t)(seed % 16000) + 1;
	tu_randbytes(&s, d->noise_key, sizeof d->noise_key);
	d->identity_key[0] = 0x05;
	tu_randbytes(&s, d->identity_key + 1, sizeof d->identity_key - 1);
	tu_randbytes(&s, names[seed % 8], sizeof names[0]);
	d->name = names[seed % 8];
	d->name_len = sizeof names[0];
}

static inline void st_envelope(sotto_store_envelope_in *e, const uint8_t *acct, uint32_t dev,
	const uint8_t *content, size_t len)
{
	memset(e, 0, sizeof *e);
	memcpy(e->dest_account, acct, SOTTO_STORE_ID_BYTES);
	e->dest_device = dev;
	e->sealed = 1;
	e->type = 6;
	e->content = content;
	e->content_len = len;
}

static inline double st_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A completion that a test thread can wait on (for the callback API). */
struct st_waiter {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int done;
	int rc;
};

static inline void st_waiter_init(struct st_waiter *w)
{
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->done = 0;
	w->rc = 1;
}

static inline void st_waiter_done(void *arg, int rc)
{
	struct st_waiter *w = arg;

	pthread_mutex_lock(&w->mu);
	w->rc = rc;
	w->done = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mu);
}

static inline int st_waiter_wait(struct st_waiter *w)
{
	pthread_mutex_lock(&w->mu);
	while (!w->done)
		pthread_cond_wait(&w->cond, &w->mu);
	pthread_mutex_unlock(&w->mu);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cond);
	return w->rc;
}

#endif
