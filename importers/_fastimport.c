/* The compiled fast path of the bulk import (importers/fast.py drives it).
 *
 * It imports a clean export into an empty SQLite store without making a Python object per
 * cell: the CSV bytes are parsed, checked and turned into the JSON text of the store's bulk
 * statements here.  It accepts only what it knows to give exactly what the Python importer
 * gives (importers/build.py), and gives up on anything else -- any problem, any cell in a
 * form it is not sure of -- before anything is written; the Python importer then runs as
 * always and writes the report.  So it never reports a problem itself.
 *
 * Where a value needs a rule that lives in Python (an enum's spellings, a crs name, text
 * that is not plainly NFC), the column's Python parser is called, once per distinct cell
 * for the repetitive columns.  tests/test_import_fast.py compares the stores both paths
 * write, byte for byte.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define MAX_CELL 10000 /* importers.spec.MAX_CELL, in characters */
#define MAX_ID 200     /* inventory.model.MAX_ID */
#define BATCH 2000     /* rows per bulk statement (as SqliteStore's BATCH) */
#define MAX_COLS 32

/* ---- giving up --------------------------------------------------------------------------
 * GIVE_UP: not a case the fast path handles (the Python importer will run).  A Python
 * exception pending at the same time is a real error (memory), and is raised. */
static const char *give_up_reason;
#define GIVE_UP(reason) do { give_up_reason = (reason); return -1; } while (0)

/* ---- growable buffers ------------------------------------------------------------------ */
typedef struct { char *p; size_t n, cap; } Buf;

/* Out of memory where the GIL may not be held (emit): raised once it is (raise_nomem). */
static int nomem;
static void raise_nomem(void) {
    if (nomem && !PyErr_Occurred()) PyErr_NoMemory();
    nomem = 0;
}

static int buf_reserve(Buf *b, size_t extra) {
    if (b->n + extra <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + extra) cap *= 2;
    char *p = PyMem_RawRealloc(b->p, cap);
    if (!p) { nomem = 1; return -1; }
    b->p = p; b->cap = cap;
    return 0;
}
static inline int buf_put(Buf *b, const char *s, size_t n) {
    if (buf_reserve(b, n) < 0) return -1;
    memcpy(b->p + b->n, s, n); b->n += n;
    return 0;
}
static inline int buf_putc(Buf *b, char c) {
    if (buf_reserve(b, 1) < 0) return -1;
    b->p[b->n++] = c;
    return 0;
}
static int buf_puts(Buf *b, const char *s) { return buf_put(b, s, strlen(s)); }
static void buf_free(Buf *b) { PyMem_RawFree(b->p); b->p = NULL; b->n = b->cap = 0; }

/* An arena: text that must outlive a cell (quoted cells without their quotes, values from
 * Python, routes); freed with the import. */
typedef struct Block { struct Block *next; size_t used, cap; char data[]; } Block;
typedef struct { Block *head; } Arena;

static char *arena_alloc(Arena *a, size_t n) {
    if (!a->head || a->head->cap - a->head->used < n) {
        size_t cap = n > (1 << 20) ? n : (1 << 20);
        Block *b = PyMem_RawMalloc(sizeof(Block) + cap);
        if (!b) { PyErr_NoMemory(); return NULL; }
        b->next = a->head; b->used = 0; b->cap = cap; a->head = b;
    }
    char *p = a->head->data + a->head->used;
    a->head->used += n;
    return p;
}
static void arena_free(Arena *a) {
    while (a->head) { Block *next = a->head->next; PyMem_RawFree(a->head); a->head = next; }
}

/* ---- a map from byte strings to ints (ids, memoised cells) ------------------------------ */
typedef struct { const char *p; uint32_t n, hash; int32_t val; } Slot;
typedef struct { Slot *slots; size_t cap, count; } Map;

static uint32_t hash_bytes(const char *p, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) { h ^= (unsigned char)p[i]; h *= 16777619u; }
    return h ? h : 1;
}
static int map_init(Map *m, size_t expected) {
    size_t cap = 16;
    while (cap < expected * 2) cap *= 2;
    m->slots = PyMem_RawCalloc(cap, sizeof(Slot));
    if (!m->slots) { PyErr_NoMemory(); return -1; }
    m->cap = cap; m->count = 0;
    return 0;
}
static void map_free(Map *m) { PyMem_RawFree(m->slots); m->slots = NULL; m->cap = m->count = 0; }

static Slot *map_find(const Map *m, const char *p, uint32_t n, uint32_t h) {
    size_t mask = m->cap - 1, i = h & mask;
    for (;;) {
        Slot *s = &m->slots[i];
        if (!s->hash || (s->hash == h && s->n == n && memcmp(s->p, p, n) == 0)) return s;
        i = (i + 1) & mask;
    }
}
static int map_grow(Map *m) {
    Map bigger;
    if (map_init(&bigger, m->cap) < 0) return -1; /* twice the capacity */
    for (size_t i = 0; i < m->cap; i++) {
        Slot *s = &m->slots[i];
        if (s->hash) *map_find(&bigger, s->p, s->n, s->hash) = *s;
    }
    bigger.count = m->count;
    map_free(m);
    *m = bigger;
    return 0;
}
/* The value of key, or -1. */
static int32_t map_get(const Map *m, const char *p, uint32_t n) {
    if (!m->cap) return -1;
    Slot *s = map_find(m, p, n, hash_bytes(p, n));
    return s->hash ? s->val : -1;
}
/* Adds key -> val; returns the value already there (and adds nothing), -1 when it was new,
 * -2 on error. */
static int32_t map_put(Map *m, const char *p, uint32_t n, int32_t val) {
    if ((m->count + 1) * 2 > m->cap && map_grow(m) < 0) return -2;
    uint32_t h = hash_bytes(p, n);
    Slot *s = map_find(m, p, n, h);
    if (s->hash) return s->val;
    s->p = p; s->n = n; s->hash = h; s->val = val;
    m->count++;
    return -1;
}

/* ---- UTF-8 and characters ---------------------------------------------------------------- */

/* Strict UTF-8 as Python's decoder: no overlong forms, no surrogates, nothing above
 * U+10FFFF.  Returns 1 when valid. */
static int utf8_valid(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t len; unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) len = 2;
        else if (c == 0xE0) { len = 3; lo = 0xA0; }
        else if (c == 0xED) { len = 3; hi = 0x9F; }
        else if (c >= 0xE1 && c <= 0xEF) len = 3;
        else if (c == 0xF0) { len = 4; lo = 0x90; }
        else if (c >= 0xF1 && c <= 0xF3) len = 4;
        else if (c == 0xF4) { len = 4; hi = 0x8F; }
        else return 0;
        if (i + len > n) return 0;
        if (s[i + 1] < lo || s[i + 1] > hi) return 0;
        for (size_t k = 2; k < len; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF) return 0;
        i += len;
    }
    return 1;
}

/* The code point at s (valid UTF-8) and its length in bytes. */
static inline uint32_t utf8_at(const unsigned char *s, int *len) {
    unsigned char c = s[0];
    if (c < 0x80) { *len = 1; return c; }
    if (c < 0xE0) { *len = 2; return ((c & 0x1F) << 6) | (s[1] & 0x3F); }
    if (c < 0xF0) { *len = 3; return ((c & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F); }
    *len = 4;
    return ((c & 0x07) << 18) | ((s[1] & 0x3F) << 12) | ((s[2] & 0x3F) << 6) | (s[3] & 0x3F);
}

/* str.isspace(): what str.strip() removes (tests/test_import_fast.py compares). */
static inline int py_space(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Characters whose every string is its own NFC form (NFC_Quick_Check=Yes, canonical
 * combining class 0: the quick check answers yes); tests/test_import_fast.py proves it
 * for each, from unicodedata.  A cell with any other character takes Python's parser. */
static const uint32_t NFC_SAFE[][2] = {
    {0x20, 0x7E}, {0xA0, 0xFF}, {0x2010, 0x2027}, {0x2030, 0x205E}, {0x2460, 0x24FF},
    {0x3000, 0x3029}, {0x3030, 0x303F}, {0x3400, 0x4DBF}, {0x4E00, 0x9FFF},
    {0xFF01, 0xFF5E}, {0xFFE0, 0xFFE6},
};
#define N_NFC_SAFE (sizeof(NFC_SAFE) / sizeof(NFC_SAFE[0]))

static inline int nfc_safe(uint32_t c) {
    for (size_t i = 0; i < N_NFC_SAFE; i++)
        if (c >= NFC_SAFE[i][0] && c <= NFC_SAFE[i][1]) return 1;
    return 0;
}

/* A cell (already without its quotes) stripped as str.strip() strips it. */
static void strip(const char **p, size_t *n) {
    const unsigned char *s = (const unsigned char *)*p, *e = s + *n;
    while (s < e) {
        int len; uint32_t c = utf8_at(s, &len);
        if (!py_space(c)) break;
        s += len;
    }
    while (e > s) {
        const unsigned char *q = e - 1;
        while (q > s && (*q & 0xC0) == 0x80) q--;
        int len; uint32_t c = utf8_at(q, &len);
        if (!py_space(c)) break;
        e = q;
    }
    *p = (const char *)s; *n = (size_t)(e - s);
}

/* What the parsers need to know of a stripped cell. */
typedef struct { size_t chars; int ascii, safe, control; } CellInfo;

static void cell_info(const char *p, size_t n, CellInfo *info) {
    const unsigned char *s = (const unsigned char *)p, *e = s + n;
    info->chars = 0; info->ascii = 1; info->safe = 1; info->control = 0;
    while (s < e) {
        unsigned char c = *s;
        if (c < 0x80) {
            /* builder._CONTROL: [\x00-\x08\x0b\x0c\x0e-\x1f\x7f] */
            if ((c < 0x20 && c != 0x09 && c != 0x0A && c != 0x0D) || c == 0x7F) info->control = 1;
            s++; /* ASCII is its own NFC form */
        } else {
            int len; uint32_t cp = utf8_at(s, &len);
            info->ascii = 0;
            if (!nfc_safe(cp)) info->safe = 0;
            s += len;
        }
        info->chars++;
    }
}

/* ---- values ------------------------------------------------------------------------------ */
/* V_FRAG: JSON text as it is (a memoised parser's result; a number that is its own repr) */
enum { V_NONE = 0, V_STR, V_FRAG, V_FLOAT, V_INT, V_LIST };
typedef struct {
    uint8_t type;
    uint32_t n;                 /* V_STR, V_FRAG: bytes; V_LIST: items */
    union { const char *p; double f; long long i; size_t start; } u;
} Val;
typedef struct { const char *p; uint32_t n; } Str;
typedef struct { Str *s; size_t n, cap; } StrVec;

/* column kinds (importers/fast.py names them) */
enum { K_TEXT = 0, K_ID, K_MEMO, K_NUMBER, K_NON_NEGATIVE, K_COUNT, K_IDS, K_CRS };

/* entities, in importers.spec.ENTITIES' order */
enum { E_CUSTOMERS = 0, E_SITES, E_ROOMS, E_MPS, E_EQUIPMENT, E_POINTS, E_CABLES, E_DUCTS,
       E_SECTIONS, E_CIRCUITS, E_PATCHES, N_ENTITIES };
static const char *ENTITY_KEYS[N_ENTITIES] = {
    "customers", "sites", "rooms", "maintenance_points", "equipment", "points", "cables",
    "ducts", "cable_sections", "circuits", "patches"};
static const char *ENTITY_LABELS[N_ENTITIES] = {
    "Customer", "Site", "Room", "MaintenancePoint", "Equipment", "Point", "Cable", "Duct",
    NULL, "Circuit", NULL};
/* the order build() writes nodes in */
static const int NODE_ORDER[] = {E_CUSTOMERS, E_SITES, E_ROOMS, E_MPS, E_POINTS, E_CABLES,
                                 E_DUCTS, E_EQUIPMENT, E_CIRCUITS};
#define N_NODE_ORDER (sizeof(NODE_ORDER) / sizeof(NODE_ORDER[0]))
/* The relationships, in build()'s order; each is (table, row, which end of a circuit). */
enum { R_HAS_SITE = 0, R_LOCATED_AT, R_TERMINATES_AT, R_SEGMENT, R_PATCH, R_SERVED_BY, N_RELS };
static const char *REL_TYPES[N_RELS] = {"HAS_SITE", "LOCATED_AT", "TERMINATES_AT", "SEGMENT",
                                        "PATCH", "SERVED_BY"};

typedef struct {
    char name[40];
    int cell;          /* index of the cell in a record */
    int kind;
    int required;
    PyObject *parse;   /* the column's Python parser (borrowed from the plan) */
    int refs[8], n_refs; /* entities a reference may name */
    int many;
    Map memo;          /* K_MEMO, K_CRS: cell -> index in the context's fragments */
    int32_t *target;   /* single references, once resolved: entity << 27 | row */
} Column;

/* A property of a table's records: its key, its column (-1: none), and where its value
 * comes from besides the column (decided once, in read_table). */
enum { P_COLUMN = 0, P_LON, P_LAT, P_ROUTE, P_NOT_APPROX, P_TIER_OR_CUSTOMERS };
typedef struct { char key[40]; int col, from; } Prop;

typedef struct {
    int present, entity;
    PyObject *data;      /* the file's bytes (a reference held) */
    int n_headers, n_cols;
    Column cols[MAX_COLS];
    Prop props[MAX_COLS + 4];
    int n_props;
    size_t n_rows;
    Val *vals;           /* n_rows * n_cols */
    Map ids;
    long long nid_base;
    double *lon, *lat;   /* WGS84, when has_point */
    Str *lon_text, *lat_text; /* their JSON (made by check(): emit runs without the GIL) */
    uint8_t *has_point;
    Str *route;          /* WKT of the row's route (ducts, sections) */
    /* special columns, -1 when absent */
    int c_id, c_lon, c_lat, c_geometry, c_length, c_tier, c_customer, c_location, c_cable, c_a,
        c_z, c_a_end, c_z_end, c_fibers, c_cores, c_ducts;
} Table;

typedef struct { int32_t site_row, depot_row; double km; Str km_text; } Served;

typedef struct {
    Table t[N_ENTITIES];
    Arena arena;
    StrVec frags;  /* memoised values' JSON */
    StrVec items;  /* the ids of id lists (V_LIST) */
    Served *served; size_t n_served;
    Buf scratch;
} Ctx;

static const char CAPSULE[] = "importers._fastimport.Ctx";

static void ctx_free(Ctx *c) {
    for (int e = 0; e < N_ENTITIES; e++) {
        Table *t = &c->t[e];
        for (int k = 0; k < t->n_cols; k++) { map_free(&t->cols[k].memo); PyMem_RawFree(t->cols[k].target); }
        Py_XDECREF(t->data);
        PyMem_RawFree(t->vals); map_free(&t->ids);
        PyMem_RawFree(t->lon); PyMem_RawFree(t->lat); PyMem_RawFree(t->has_point); PyMem_RawFree(t->route);
        PyMem_RawFree(t->lon_text); PyMem_RawFree(t->lat_text);
    }
    arena_free(&c->arena);
    PyMem_RawFree(c->frags.s); PyMem_RawFree(c->items.s); PyMem_RawFree(c->served);
    buf_free(&c->scratch);
    PyMem_RawFree(c);
}

static char *arena_copy(Ctx *c, const char *p, size_t n) {
    char *q = arena_alloc(&c->arena, n ? n : 1);
    if (q && n) memcpy(q, p, n);
    return q;
}

/* Appends (p, n) to v; its index, or -1. */
static int push_str(StrVec *v, const char *p, size_t n) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 256;
        Str *s = PyMem_RawRealloc(v->s, cap * sizeof(Str));
        if (!s) { PyErr_NoMemory(); return -1; }
        v->s = s; v->cap = cap;
    }
    v->s[v->n].p = p; v->s[v->n].n = (uint32_t)n;
    return (int)v->n++;
}

/* ---- calling a Python parser -------------------------------------------------------------- */

/* parse(cell) -> the result, or NULL with no error set when it refused the cell (the
 * Python importer will report it) -- or with an error set for anything but a refusal. */
static PyObject *call_parser(PyObject *parse, const char *p, size_t n) {
    PyObject *arg = PyUnicode_DecodeUTF8(p, (Py_ssize_t)n, "strict");
    if (!arg) return NULL;
    PyObject *result = PyObject_CallOneArg(parse, arg);
    Py_DECREF(arg);
    if (!result && !PyErr_ExceptionMatches(PyExc_MemoryError)) {
        PyErr_Clear(); /* ValueError, ValidationError ...: a problem the report will show */
        give_up_reason = "a cell that a parser refuses";
    }
    return result;
}

/* A str result into the arena: its UTF-8. */
static int str_result(Ctx *c, PyObject *s, const char **p, size_t *n) {
    if (!PyUnicode_Check(s)) GIVE_UP("a parser gave something else than text");
    Py_ssize_t len;
    const char *u = PyUnicode_AsUTF8AndSize(s, &len);
    if (!u) { PyErr_Clear(); GIVE_UP("text that is not UTF-8 (a lone surrogate)"); }
    *p = arena_copy(c, u, (size_t)len);
    *n = (size_t)len;
    return *p ? 0 : -1;
}

/* ---- numbers ------------------------------------------------------------------------------ */

/* -?[0-9]{1,15}(\.[0-9]{1,15})?: float() of it is correctly rounded, as PyOS_string_to_double. */
static int plain_number(const char *p, size_t n, double *out) {
    size_t i = 0, digits = 0, decimals = 0;
    if (n == 0 || n > 40) return 0;
    if (p[0] == '-') i++;
    while (i < n && p[i] >= '0' && p[i] <= '9') { i++; digits++; }
    if (!digits || digits > 15) return 0;
    if (i < n) {
        if (p[i] != '.') return 0;
        i++;
        while (i < n && p[i] >= '0' && p[i] <= '9') { i++; decimals++; }
        if (!decimals || decimals > 15 || i != n) return 0;
    }
    char tmp[48];
    memcpy(tmp, p, n); tmp[n] = 0;
    *out = PyOS_string_to_double(tmp, NULL, NULL);
    return !(*out == -1.0 && PyErr_Occurred());
}

/* [1-9][0-9]*|0, a dot, then decimals: is the text the repr of its own float, so that it
 * is the store's JSON as it is (no conversion either way, which dominated check())? It is
 * when it has at most 15 digits (DBL_DIG: such a decimal is the only one of its length that
 * reads as its double, so repr's shortest digits are its own), no trailing zero but in
 * "x.0", and repr writes it without an exponent (at least 1e-4). No sign: the numbers the
 * fast path sees (lengths, coordinates in China) are not negative. Its decimals, or -1. */
static int canonical_decimals(const char *p, size_t n) {
    size_t i = 0;
    if (n == 0 || p[0] < '0' || p[0] > '9') return -1;
    if (p[0] == '0') i = 1;
    else while (i < n && p[i] >= '0' && p[i] <= '9') i++;
    if (i >= n || p[i] != '.') return -1;
    size_t whole = i++, first_nonzero = 0;
    for (size_t k = i; k < n; k++) {
        if (p[k] < '0' || p[k] > '9') return -1;
        if (!first_nonzero && p[k] != '0') first_nonzero = k - whole;
    }
    size_t decimals = n - i;
    if (decimals == 0 || whole + decimals > 15) return -1;
    if (decimals == 1 && p[i] == '0') return 1;                 /* x.0 */
    if (p[n - 1] == '0') return -1;                             /* repr has no trailing zero */
    if (p[0] == '0' && first_nonzero > 4) return -1;            /* repr: 1e-05 */
    return (int)decimals;
}

/* Text of a float as the store's canonical JSON writes it (repr, which orjson also writes
 * in this range); 0 outside it (the fast path gives up there). */
static int json_float_ok(double x) {
    double a = fabs(x);
    return isfinite(x) && (a == 0.0 || (a >= 1e-4 && a < 1e16));
}
static int put_float(Buf *b, double x) {
    char *s = PyOS_double_to_string(x, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (!s) return -1;
    int r = buf_puts(b, s);
    PyMem_Free(s);
    return r;
}

/* round(x, 7) as Python computes it: the correctly rounded 7-decimal text, read back. */
static int round7(double x, double *out) {
    char *s = PyOS_double_to_string(x, 'f', 7, 0, NULL);
    if (!s) return -1;
    *out = PyOS_string_to_double(s, NULL, NULL);
    PyMem_Free(s);
    return PyErr_Occurred() ? -1 : 0;
}

/* ---- one cell to a value -------------------------------------------------------------- */

static int memo_value(Ctx *c, Column *col, const char *p, size_t n, Val *v) {
    int32_t found = map_get(&col->memo, p, (uint32_t)n);
    if (found < 0) {
        PyObject *r = call_parser(col->parse, p, n);
        if (!r) return -1;
        const char *fp; size_t fn;
        int bad = str_result(c, r, &fp, &fn);
        Py_DECREF(r);
        if (bad) return -1;
        if (col->kind == K_CRS && !(fn == 5 && memcmp(fp, "WGS84", 5) == 0))
            GIVE_UP("a coordinate system other than WGS84");
        found = push_str(&c->frags, fp, fn);
        if (found < 0) return -1;
        const char *key = arena_copy(c, p, n);
        if (!key || map_put(&col->memo, key, (uint32_t)n, found) == -2) return -1;
    }
    v->type = V_FRAG; v->u.p = c->frags.s[found].p; v->n = c->frags.s[found].n;
    return 0;
}

static inline int id_separator(char ch) {
    /* model._ID_SEPARATORS for ASCII: ; , | and white space (the control check leaves
     * only tab, CR, LF and space) */
    return ch == ';' || ch == ',' || ch == '|' || ch == ' ' || ch == '\t' || ch == '\n' ||
           ch == '\r';
}

static int cell_value(Ctx *c, Column *col, const char *p, size_t n, Val *v) {
    CellInfo info;
    v->type = V_NONE;
    if (n == 0) {
        if (col->required) GIVE_UP("a required cell is empty");
        return 0;
    }
    cell_info(p, n, &info);
    if (info.control) GIVE_UP("a control character");
    if (info.chars > MAX_CELL) GIVE_UP("a cell too long");
    switch (col->kind) {
    case K_TEXT:
    case K_ID:
        if (info.safe && (col->kind == K_TEXT || info.chars <= MAX_ID)) {
            v->type = V_STR; v->u.p = p; v->n = (uint32_t)n;
            return 0;
        } else {
            PyObject *r = call_parser(col->parse, p, n);
            if (!r) return -1;
            const char *sp; size_t sn;
            int bad = str_result(c, r, &sp, &sn);
            Py_DECREF(r);
            if (bad) return -1;
            if (sn == 0) GIVE_UP("text that is empty once normalised");
            v->type = V_STR; v->u.p = sp; v->n = (uint32_t)sn;
            return 0;
        }
    case K_MEMO:
    case K_CRS:
        return memo_value(c, col, p, n, v);
    case K_NUMBER:
    case K_NON_NEGATIVE: {
        if (canonical_decimals(p, n) >= 0) {  /* its own JSON; read when a coordinate */
            v->type = V_FRAG; v->u.p = p; v->n = (uint32_t)n;
            return 0;
        }
        double x;
        if (plain_number(p, n, &x)) {
            if (col->kind == K_NON_NEGATIVE && x < 0) GIVE_UP("a negative number");
        } else {
            if (PyErr_Occurred()) return -1;
            PyObject *r = call_parser(col->parse, p, n);
            if (!r) return -1;
            x = PyFloat_AsDouble(r);
            Py_DECREF(r);
            if (x == -1.0 && PyErr_Occurred()) return -1;
        }
        if (!json_float_ok(x)) GIVE_UP("a number written otherwise in JSON");
        v->type = V_FLOAT; v->u.f = x;
        return 0;
    }
    case K_COUNT: {
        long long x = 0;
        size_t i = 0;
        while (i < n && i < 16 && p[i] >= '0' && p[i] <= '9') x = x * 10 + (p[i++] - '0');
        if (i != n || n > 15) {
            PyObject *r = call_parser(col->parse, p, n);
            if (!r) return -1;
            int overflow = 0;
            x = PyLong_Check(r) ? PyLong_AsLongLongAndOverflow(r, &overflow) : -1;
            Py_DECREF(r);
            if (PyErr_Occurred()) return -1;
            if (overflow || x < 0 || x > 999999999999999LL) GIVE_UP("a count out of range");
        }
        v->type = V_INT; v->u.i = x;
        return 0;
    }
    case K_IDS: {
        size_t start = c->items.n;
        if (info.ascii) {
            size_t i = 0;
            while (i < n) {
                while (i < n && id_separator(p[i])) i++;
                size_t s = i;
                while (i < n && !id_separator(p[i])) i++;
                if (i > s) {
                    int dup = 0; /* dict.fromkeys: the first of each */
                    for (size_t k = start; k < c->items.n; k++)
                        if (c->items.s[k].n == i - s && memcmp(c->items.s[k].p, p + s, i - s) == 0) { dup = 1; break; }
                    if (!dup && push_str(&c->items, p + s, i - s) < 0) return -1;
                }
            }
        } else {
            PyObject *r = call_parser(col->parse, p, n);
            if (!r) return -1;
            if (!PyList_Check(r)) { Py_DECREF(r); GIVE_UP("ids that are not a list"); }
            for (Py_ssize_t k = 0; k < PyList_GET_SIZE(r); k++) {
                const char *ip; size_t in;
                if (str_result(c, PyList_GET_ITEM(r, k), &ip, &in) < 0 || push_str(&c->items, ip, in) < 0) {
                    Py_DECREF(r);
                    return -1;
                }
            }
            Py_DECREF(r);
        }
        if (c->items.n == start) GIVE_UP("a list of ids with no id");
        v->type = V_LIST; v->u.start = start; v->n = (uint32_t)(c->items.n - start);
        return 0;
    }
    }
    GIVE_UP("an unknown kind of column");
}

/* ---- CSV ---------------------------------------------------------------------------------- */

/* The next record of a comma-separated file as the csv module reads it (the excel dialect),
 * its cells stripped; 0 at the end, -1 to give up (a form it does not handle).  A quoted
 * cell with a doubled quote is copied into the arena without it. */
static int next_record(Ctx *c, const char **pos, const char *end, Str *cells, int max_cells,
                       int *n_cells) {
    const char *p = *pos;
    int n = 0;
    if (p >= end) return 0;
    for (;;) {
        const char *s, *e;
        if (p < end && *p == '"') {
            const char *q = ++p;
            int doubled = 0;
            for (;;) {
                if (q >= end) GIVE_UP("a quote that is never closed");
                if (*q == '"') {
                    if (q + 1 < end && q[1] == '"') { doubled = 1; q += 2; continue; }
                    break;
                }
                q++;
            }
            s = p; e = q; p = q + 1;
            if (p < end && *p != ',' && *p != '\n' && *p != '\r') GIVE_UP("text after a closing quote");
            if (doubled) {
                char *copy = arena_alloc(&c->arena, (size_t)(e - s));
                if (!copy) return -1;
                size_t k = 0;
                for (const char *r = s; r < e; r++) {
                    copy[k++] = *r;
                    if (*r == '"') r++;
                }
                s = copy; e = copy + k;
            }
        } else {
            s = p;
            while (p < end && *p != ',' && *p != '\n' && *p != '\r') {
                if (*p == '"') GIVE_UP("a quote inside an unquoted cell");
                p++;
            }
            e = p;
        }
        if (n == max_cells) GIVE_UP("more cells than headers");
        size_t len = (size_t)(e - s);
        strip(&s, &len);
        cells[n].p = s; cells[n].n = (uint32_t)len;
        n++;
        if (p >= end) break;
        if (*p == ',') { p++; continue; }
        if (*p == '\r') {
            if (p + 1 < end && p[1] == '\n') p++;
            else GIVE_UP("a line ending in CR alone");
        }
        p++; /* the \n */
        break;
    }
    /* a record that is one empty line is the csv module's [], dropped as blank */
    *pos = p; *n_cells = n;
    return 1;
}

static int blank(const Str *cells, int n) {
    for (int i = 0; i < n; i++) if (cells[i].n) return 0;
    return 1;
}

/* ---- reading a table ------------------------------------------------------------------------ */

static int find_col(Table *t, const char *name) {
    for (int k = 0; k < t->n_cols; k++) if (strcmp(t->cols[k].name, name) == 0) return k;
    return -1;
}

static int entity_index(PyObject *key) {
    const char *s = PyUnicode_AsUTF8(key);
    if (!s) return -1;
    for (int e = 0; e < N_ENTITIES; e++) if (strcmp(s, ENTITY_KEYS[e]) == 0) return e;
    PyErr_Format(PyExc_ValueError, "unknown entity %s", s);
    return -1;
}

static int copy_name(char *dst, size_t size, PyObject *s) {
    const char *u = PyUnicode_AsUTF8(s);
    if (!u) return -1;
    if (strlen(u) >= size) { PyErr_SetString(PyExc_ValueError, "name too long"); return -1; }
    strcpy(dst, u);
    return 0;
}

/* plan: (entity key, data bytes, offset of the first byte after a BOM, number of headers,
 *        columns: [(name, cell index, kind, required, parse, (ref entity keys…), many)],
 *        props: [(key, column name or None)] in the order of the keys) */
static int read_table(Ctx *c, PyObject *plan) {
    PyObject *key, *data, *columns, *props;
    Py_ssize_t offset;
    int n_headers;
    if (!PyArg_ParseTuple(plan, "OSniOO", &key, &data, &offset, &n_headers, &columns, &props))
        return -1;
    int e = entity_index(key);
    if (e < 0) return -1;
    Table *t = &c->t[e];
    if (t->present) GIVE_UP("two files of one entity");
    t->present = 1; t->entity = e; t->n_headers = n_headers;
    Py_INCREF(data); t->data = data;
    if (!PyList_Check(columns) || PyList_GET_SIZE(columns) > MAX_COLS || !PyList_Check(props) ||
        PyList_GET_SIZE(props) > MAX_COLS + 4 || n_headers > 4 * MAX_COLS || n_headers < 1) {
        PyErr_SetString(PyExc_ValueError, "bad plan");
        return -1;
    }
    t->n_cols = (int)PyList_GET_SIZE(columns);
    for (int k = 0; k < t->n_cols; k++) {
        Column *col = &t->cols[k];
        PyObject *name, *parse, *refs;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(columns, k), "OiipOOp", &name, &col->cell,
                              &col->kind, &col->required, &parse, &refs, &col->many))
            return -1;
        if (copy_name(col->name, sizeof col->name, name) < 0) return -1;
        if (col->cell < 0 || col->cell >= n_headers || !PyTuple_Check(refs) ||
            PyTuple_GET_SIZE(refs) > 8) {
            PyErr_SetString(PyExc_ValueError, "bad column");
            return -1;
        }
        col->parse = parse;
        col->n_refs = (int)PyTuple_GET_SIZE(refs);
        for (int r = 0; r < col->n_refs; r++)
            if ((col->refs[r] = entity_index(PyTuple_GET_ITEM(refs, r))) < 0) return -1;
        if ((col->kind == K_MEMO || col->kind == K_CRS) && map_init(&col->memo, 64) < 0) return -1;
    }
    t->n_props = (int)PyList_GET_SIZE(props);
    for (int k = 0; k < t->n_props; k++) {
        PyObject *pkey, *pcol;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(props, k), "OO", &pkey, &pcol)) return -1;
        if (copy_name(t->props[k].key, sizeof t->props[k].key, pkey) < 0) return -1;
        t->props[k].col = -1;
        if (pcol != Py_None) {
            char name[40];
            if (copy_name(name, sizeof name, pcol) < 0) return -1;
            t->props[k].col = find_col(t, name);
        }
    }
    t->c_id = find_col(t, "id"); t->c_lon = find_col(t, "lon"); t->c_lat = find_col(t, "lat");
    t->c_geometry = find_col(t, "geometry");
    t->c_length = find_col(t, "length_m"); t->c_tier = find_col(t, "tier");
    t->c_customer = find_col(t, "customer_id"); t->c_location = find_col(t, "location_id");
    t->c_cable = find_col(t, "cable_id"); t->c_a = find_col(t, "a_id"); t->c_z = find_col(t, "z_id");
    t->c_a_end = find_col(t, "a_end"); t->c_z_end = find_col(t, "z_end");
    t->c_fibers = find_col(t, "fiber_count"); t->c_cores = find_col(t, "cores_used");
    t->c_ducts = find_col(t, "duct_ids");
    for (int k = 0; k < t->n_props; k++) {
        Prop *prop = &t->props[k];
        const char *key = prop->key;
        prop->from = strcmp(key, "lon") == 0 ? P_LON
                   : strcmp(key, "lat") == 0 ? P_LAT
                   : strcmp(key, "geometry") == 0 && t->c_geometry >= 0 ? P_ROUTE
                   : strcmp(key, "geometry_approx") == 0 && e == E_SECTIONS ? P_NOT_APPROX
                   : strcmp(key, "tier") == 0 && e == E_SITES && t->c_customer >= 0 ? P_TIER_OR_CUSTOMERS
                   : P_COLUMN;
    }
    if (t->c_id < 0) GIVE_UP("no id column");

    const char *start = PyBytes_AS_STRING(data), *end = start + PyBytes_GET_SIZE(data);
    if (offset < 0 || offset > end - start) { PyErr_SetString(PyExc_ValueError, "bad offset"); return -1; }
    const char *pos = start + offset;
    if (!utf8_valid((const unsigned char *)pos, (size_t)(end - pos))) GIVE_UP("not UTF-8");
    if (memchr(pos, 0, (size_t)(end - pos))) GIVE_UP("a NUL character");

    /* rows: at most one per line */
    size_t lines = 1;
    for (const char *q = pos; q < end; q++) if (*q == '\n') lines++;
    if (lines >= (1u << 27)) GIVE_UP("more rows than a reference can name (2**27)");
    t->vals = PyMem_RawCalloc(lines * (size_t)(t->n_cols ? t->n_cols : 1), sizeof(Val));
    if (!t->vals) { PyErr_NoMemory(); return -1; }
    Str cells[4 * MAX_COLS];
    int n_cells, header_seen = 0, r;
    while ((r = next_record(c, &pos, end, cells, 4 * MAX_COLS, &n_cells)) > 0) {
        if (blank(cells, n_cells)) continue;
        if (!header_seen) { /* importers.fast has read and mapped the headers */
            if (n_cells != n_headers) GIVE_UP("the headers changed");
            header_seen = 1;
            continue;
        }
        if (n_cells != n_headers) GIVE_UP("a row with more or fewer cells than headers");
        Val *row = t->vals + t->n_rows * (size_t)t->n_cols;
        for (int k = 0; k < t->n_cols; k++) {
            Column *col = &t->cols[k];
            if (cell_value(c, col, cells[col->cell].p, cells[col->cell].n, &row[k]) < 0) return -1;
        }
        t->n_rows++;
    }
    if (r < 0) return -1;
    return 0;
}

/* ---- ids and references ----------------------------------------------------------------- */

static int register_ids(Table *t) {
    if (map_init(&t->ids, t->n_rows) < 0) return -1;
    for (size_t r = 0; r < t->n_rows; r++) {
        Val *id = &t->vals[r * t->n_cols + t->c_id];
        int32_t was = map_put(&t->ids, id->u.p, id->n, (int32_t)r);
        if (was == -2) return -1;
        if (was >= 0) GIVE_UP("an id used twice");
    }
    return 0;
}

/* The one entity of col->refs holding the id (entity << 27 | row), or -1 to give up. */
static int32_t resolve(Ctx *c, Column *col, const char *p, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) if ((unsigned char)p[i] >= 0x80 || p[i] == ':') return -1;
    int32_t found = -1;
    for (int k = 0; k < col->n_refs; k++) {
        Table *o = &c->t[col->refs[k]];
        if (!o->present) continue;
        int32_t row = map_get(&o->ids, p, n);
        if (row >= 0) {
            if (found >= 0) return -1; /* in two labels: _resolve_one says so */
            found = (col->refs[k] << 27) | row;
        }
    }
    return found;
}

static int resolve_table(Ctx *c, Table *t) {
    for (int k = 0; k < t->n_cols; k++) {
        Column *col = &t->cols[k];
        if (!col->n_refs) continue;
        if (!col->many) {
            col->target = PyMem_RawMalloc((t->n_rows ? t->n_rows : 1) * sizeof(int32_t));
            if (!col->target) { PyErr_NoMemory(); return -1; }
        }
        for (size_t r = 0; r < t->n_rows; r++) {
            Val *v = &t->vals[r * t->n_cols + k];
            if (v->type == V_NONE) { if (!col->many) col->target[r] = -1; continue; }
            if (col->many) {
                for (uint32_t i = 0; i < v->n; i++) {
                    Str *item = &c->items.s[v->u.start + i];
                    if (resolve(c, col, item->p, item->n) < 0) GIVE_UP("a reference not plainly to one element of the import");
                }
            } else {
                int32_t target = resolve(c, col, v->u.p, v->n);
                if (target < 0) GIVE_UP("a reference not plainly to one element of the import");
                col->target[r] = target;
            }
        }
    }
    return 0;
}

/* ---- coordinates and routes --------------------------------------------------------------- */

static int in_china(double lon, double lat) {
    return lon >= 73.0 && lon <= 136.0 && lat >= 3.0 && lat <= 54.0;
}

/* A coordinate cell: its value, and that rounded to 7 decimals (as coords rounds it) with,
 * when the cell is the rounded value's JSON already (most are), that text; else
 * floats_to_text() writes it. */
static int coordinate(Val *v, double *value, double *rounded, Str *text) {
    if (v->type != V_FRAG) {
        *value = v->u.f;
    } else if (!plain_number(v->u.p, v->n, value)) { /* canonical_decimals(): it is plain */
        if (PyErr_Occurred()) return -1;
        GIVE_UP("a number that is not plain");
    } else if (canonical_decimals(v->u.p, v->n) <= 7) { /* its own repr; round(x, 7) is x */
        *rounded = *value;
        text->p = v->u.p; text->n = v->n;
        return 0;
    }
    return round7(*value, rounded);
}

static int coordinates(Table *t) {
    if (t->c_lon < 0 && t->c_lat < 0) return 0;
    if (t->c_lon < 0 || t->c_lat < 0) GIVE_UP("lon without lat");
    t->lon = PyMem_RawMalloc((t->n_rows + 1) * sizeof(double));
    t->lat = PyMem_RawMalloc((t->n_rows + 1) * sizeof(double));
    t->has_point = PyMem_RawCalloc(t->n_rows + 1, 1);
    t->lon_text = PyMem_RawCalloc(t->n_rows + 1, sizeof(Str));
    t->lat_text = PyMem_RawCalloc(t->n_rows + 1, sizeof(Str));
    if (!t->lon || !t->lat || !t->has_point || !t->lon_text || !t->lat_text) {
        PyErr_NoMemory();
        return -1;
    }
    for (size_t r = 0; r < t->n_rows; r++) {
        Val *lon = &t->vals[r * t->n_cols + t->c_lon], *lat = &t->vals[r * t->n_cols + t->c_lat];
        if (lon->type == V_NONE && lat->type == V_NONE) continue;
        if (lon->type == V_NONE || lat->type == V_NONE) GIVE_UP("lon without lat");
        /* the crs column was checked to be WGS84 wherever it has a value */
        double x, y;
        if (coordinate(lon, &x, &t->lon[r], &t->lon_text[r]) < 0 ||
            coordinate(lat, &y, &t->lat[r], &t->lat_text[r]) < 0)
            return -1;
        if (!in_china(x, y)) GIVE_UP("a point outside China");
        t->has_point[r] = 1;
    }
    return 0;
}

/* coords._NUMBER: [1-9][0-9]{0,2}\.[0-9]{1,7}; its length, or 0. */
static size_t route_number(const char *p, const char *end) {
    const char *q = p;
    if (q >= end || *q < '1' || *q > '9') return 0;
    q++;
    int more = 0;
    while (q < end && *q >= '0' && *q <= '9' && more < 2) { q++; more++; }
    if (q >= end || *q != '.') return 0;
    q++;
    int decimals = 0;
    while (q < end && *q >= '0' && *q <= '9' && decimals < 7) { q++; decimals++; }
    if (!decimals) return 0;
    return (size_t)(q - p);
}

/* in_china() of a point of two route_number()s, read on their text: a number of that form
 * is at least its whole part, and at most it only when its decimals are all zero. */
static int route_number_between(const char *p, size_t n, int low, int high) {
    int whole = 0, fraction = 0;
    size_t i = 0;
    for (; p[i] != '.'; i++) whole = whole * 10 + (p[i] - '0');
    for (i++; i < n; i++) fraction |= p[i] != '0';
    return whole >= low && (whole < high || (whole == high && !fraction));
}
static int route_point_in_china(const char *x, size_t lx, const char *y, size_t ly) {
    return route_number_between(x, lx, 73, 136) && route_number_between(y, ly, 3, 54);
}

/* coords._plain_route: a plain WGS84 route (lon,lat;lon,lat… or LINESTRING (lon lat, …))
 * of at least two points inside China, as the WKT the store keeps; 0 when it is not one
 * (the fast path gives up: coords.route_wkt's general path would be needed). */
static int plain_route(Ctx *c, const char *p, size_t n, Str *wkt) {
    const char *end = p + n, *q = p;
    char sep_xy = ',', sep_pt = ';';
    int wkt_form = 0;
    if (n > 12 && memcmp(p, "LINESTRING (", 12) == 0) {
        if (p[n - 1] != ')') return 0;
        wkt_form = 1; q = p + 12; end = p + n - 1; sep_xy = ' '; sep_pt = ',';
    }
    Buf *out = &c->scratch;
    out->n = 0;
    if (buf_puts(out, "LINESTRING (") < 0) return -1;
    int points = 0;
    for (;;) {
        size_t lx = route_number(q, end);
        if (!lx || q + lx >= end || q[lx] != sep_xy) return 0;
        const char *x = q;
        q += lx + 1;
        size_t ly = route_number(q, end);
        if (!ly) return 0;
        const char *y = q;
        q += ly;
        if (!route_point_in_china(x, lx, y, ly)) return 0;
        if (points && buf_puts(out, ", ") < 0) return -1;
        /* the text with trailing zeros (and then a trailing dot) cut */
        const char *parts[2] = {x, y};
        size_t lens[2] = {lx, ly};
        for (int k = 0; k < 2; k++) {
            size_t len = lens[k];
            while (len && parts[k][len - 1] == '0') len--;
            if (len && parts[k][len - 1] == '.') len--;
            if (buf_put(out, parts[k], len) < 0 || (k == 0 && buf_putc(out, ' ') < 0)) return -1;
        }
        points++;
        if (q == end) break;
        if (*q != sep_pt) return 0;
        q++;
        if (wkt_form) { if (q >= end || *q != ' ') return 0; q++; }
    }
    if (points < 2) return 0;
    if (buf_putc(out, ')') < 0) return -1;
    wkt->p = arena_copy(c, out->p, out->n);
    wkt->n = (uint32_t)out->n;
    return wkt->p ? 1 : -1;
}

static int routes(Ctx *c, Table *t) {
    if (t->c_geometry < 0) {
        if (t->entity == E_SECTIONS && t->n_rows) GIVE_UP("a cable section without a route");
        return 0;
    }
    t->route = PyMem_RawCalloc(t->n_rows + 1, sizeof(Str));
    if (!t->route) { PyErr_NoMemory(); return -1; }
    for (size_t r = 0; r < t->n_rows; r++) {
        Val *g = &t->vals[r * t->n_cols + t->c_geometry];
        if (g->type == V_NONE) {
            if (t->entity == E_SECTIONS) GIVE_UP("a cable section without a route");
            continue;
        }
        int ok = plain_route(c, g->u.p, g->n, &t->route[r]);
        if (ok < 0) return -1;
        if (!ok) GIVE_UP("a route not in the plain form");
        if (t->c_length < 0 || t->vals[r * t->n_cols + t->c_length].type == V_NONE)
            GIVE_UP("a route without its length");
    }
    return 0;
}

/* ---- the checks of build() that the parsers leave ----------------------------------------- */

static int ends_differ(Table *t) {
    if (t->c_a < 0 || t->c_z < 0) return 0;
    for (size_t r = 0; r < t->n_rows; r++) {
        int32_t a = t->cols[t->c_a].target[r], z = t->cols[t->c_z].target[r];
        if (a >= 0 && a == z) GIVE_UP("a section or patch that starts where it ends");
    }
    return 0;
}

static int cores_fit(Table *t) {
    if (t->c_cores < 0 || t->c_fibers < 0) return 0;
    for (size_t r = 0; r < t->n_rows; r++) {
        Val *cores = &t->vals[r * t->n_cols + t->c_cores], *fibers = &t->vals[r * t->n_cols + t->c_fibers];
        if (cores->type == V_INT && fibers->type == V_INT && cores->u.i > fibers->u.i)
            GIVE_UP("more cores used than a section has");
    }
    return 0;
}

/* SERVED_BY: nearest(sites, depots) -> {site: (depot, km)}, the Python of build._served_by
 * (the store is empty: only this import's sites and depots). */
static int served_by(Ctx *c, PyObject *nearest) {
    Table *sites = &c->t[E_SITES], *mps = &c->t[E_MPS];
    PyObject *site_dict = PyDict_New(), *depot_dict = PyDict_New(), *result = NULL;
    int status = -1;
    if (!site_dict || !depot_dict) goto done;
    Table *both[2] = {sites, mps};
    PyObject *dicts[2] = {site_dict, depot_dict};
    for (int k = 0; k < 2; k++) {
        Table *t = both[k];
        if (!t->present || !t->has_point) continue;
        for (size_t r = 0; r < t->n_rows; r++) {
            if (!t->has_point[r]) continue;
            Val *id = &t->vals[r * t->n_cols + t->c_id];
            PyObject *key = PyUnicode_DecodeUTF8(id->u.p, id->n, "strict");
            PyObject *point = key ? Py_BuildValue("(dd)", t->lon[r], t->lat[r]) : NULL;
            int bad = !point || PyDict_SetItem(dicts[k], key, point) < 0;
            Py_XDECREF(key); Py_XDECREF(point);
            if (bad) goto done;
        }
    }
    result = PyObject_CallFunctionObjArgs(nearest, site_dict, depot_dict, NULL);
    if (!result) goto done;
    if (!PyDict_Check(result)) { PyErr_SetString(PyExc_TypeError, "nearest() gave no dict"); goto done; }
    c->served = PyMem_RawMalloc((PyDict_GET_SIZE(result) + 1) * sizeof(Served));
    if (!c->served) { PyErr_NoMemory(); goto done; }
    Py_ssize_t pos = 0;
    PyObject *site, *found;
    while (PyDict_Next(result, &pos, &site, &found)) {
        Py_ssize_t ln, ld;
        PyObject *depot;
        double km;
        if (!PyArg_ParseTuple(found, "Od", &depot, &km)) goto done;
        const char *s = PyUnicode_AsUTF8AndSize(site, &ln), *d = s ? PyUnicode_AsUTF8AndSize(depot, &ld) : NULL;
        if (!d) goto done;
        Served *sv = &c->served[c->n_served++];
        sv->site_row = map_get(&sites->ids, s, (uint32_t)ln);
        sv->depot_row = map_get(&mps->ids, d, (uint32_t)ld);
        sv->km = km;
        if (sv->site_row < 0 || sv->depot_row < 0) { PyErr_SetString(PyExc_ValueError, "nearest() named an unknown site or depot"); goto done; }
        if (!json_float_ok(km)) { give_up_reason = "a distance written otherwise in JSON"; status = -1; goto done; }
    }
    status = 0;
done:
    Py_XDECREF(site_dict); Py_XDECREF(depot_dict); Py_XDECREF(result);
    return status;
}

/* The JSON text of a float, in the arena. */
static int float_text(Ctx *c, double x, Str *out) {
    c->scratch.n = 0;
    if (put_float(&c->scratch, x) < 0) return -1;
    out->p = arena_copy(c, c->scratch.p, c->scratch.n);
    out->n = (uint32_t)c->scratch.n;
    return out->p ? 0 : -1;
}

/* Every float as its JSON text (a V_FRAG): PyOS_double_to_string needs the GIL, which
 * emit() does without. */
static int floats_to_text(Ctx *c) {
    for (int e = 0; e < N_ENTITIES; e++) {
        Table *t = &c->t[e];
        if (!t->present) continue;
        for (size_t i = 0; i < t->n_rows * (size_t)t->n_cols; i++) {
            Val *v = &t->vals[i];
            if (v->type != V_FLOAT) continue;
            Str text;
            if (float_text(c, v->u.f, &text) < 0) return -1;
            v->type = V_FRAG; v->u.p = text.p; v->n = text.n;
        }
        if (!t->has_point) continue;
        for (size_t r = 0; r < t->n_rows; r++) { /* those coordinate() left to write */
            if (!t->has_point[r]) continue;
            if ((!t->lon_text[r].p && float_text(c, t->lon[r], &t->lon_text[r]) < 0) ||
                (!t->lat_text[r].p && float_text(c, t->lat[r], &t->lat_text[r]) < 0))
                return -1;
        }
    }
    for (size_t i = 0; i < c->n_served; i++)
        if (float_text(c, c->served[i].km, &c->served[i].km_text) < 0) return -1;
    return 0;
}

/* ---- check(): everything before writing ----------------------------------------------------- */

static PyObject *give_up_or_raise(Ctx *c) {
    ctx_free(c);
    raise_nomem();
    if (PyErr_Occurred()) return NULL;
    return Py_BuildValue("(OsO)", Py_None, give_up_reason ? give_up_reason : "unknown", Py_None);
}

static long long rel_count(Ctx *c, int type);

static void free_capsule(PyObject *capsule) {
    ctx_free(PyCapsule_GetPointer(capsule, CAPSULE));
}

/* check(plans, nearest) -> (handle, {label or type: records}, [rows of each plan's file]),
 * or (None, why it gave up, None) */
static PyObject *fast_check(PyObject *self, PyObject *args) {
    PyObject *plans, *nearest;
    if (!PyArg_ParseTuple(args, "O!O", &PyList_Type, &plans, &nearest)) return NULL;
    Ctx *c = PyMem_RawCalloc(1, sizeof(Ctx));
    if (!c) return PyErr_NoMemory();
    give_up_reason = NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(plans); i++)
        if (read_table(c, PyList_GET_ITEM(plans, i)) < 0) return give_up_or_raise(c);
    for (int e = 0; e < N_ENTITIES; e++)
        if (c->t[e].present && register_ids(&c->t[e]) < 0) return give_up_or_raise(c);
    for (int e = 0; e < N_ENTITIES; e++) {
        Table *t = &c->t[e];
        if (!t->present) continue;
        if (resolve_table(c, t) < 0 || coordinates(t) < 0 || routes(c, t) < 0) return give_up_or_raise(c);
        if ((e == E_SECTIONS || e == E_PATCHES) && ends_differ(t) < 0) return give_up_or_raise(c);
        if (e == E_SECTIONS && cores_fit(t) < 0) return give_up_or_raise(c);
    }
    if (served_by(c, nearest) < 0 || floats_to_text(c) < 0) return give_up_or_raise(c);
    /* nids in the order build() makes the nodes, from 1 (the store is empty) */
    long long nid = 0;
    PyObject *counts = PyDict_New();
    if (!counts) return give_up_or_raise(c);
    for (size_t k = 0; k < N_NODE_ORDER; k++) {
        Table *t = &c->t[NODE_ORDER[k]];
        t->nid_base = nid;
        if (!t->present || !t->n_rows) continue;
        nid += (long long)t->n_rows;
        PyObject *n = PyLong_FromSize_t(t->n_rows);
        if (!n || PyDict_SetItemString(counts, ENTITY_LABELS[t->entity], n) < 0) { Py_XDECREF(n); Py_DECREF(counts); return give_up_or_raise(c); }
        Py_DECREF(n);
    }
    for (int type = 0; type < N_RELS; type++) {
        long long n = rel_count(c, type);
        if (!n) continue;
        PyObject *v = PyLong_FromLongLong(n);
        if (!v || PyDict_SetItemString(counts, REL_TYPES[type], v) < 0) { Py_XDECREF(v); Py_DECREF(counts); return give_up_or_raise(c); }
        Py_DECREF(v);
    }
    PyObject *capsule = PyCapsule_New(c, CAPSULE, free_capsule);
    if (!capsule) { Py_DECREF(counts); ctx_free(c); return NULL; }
    PyObject *rows = PyList_New(0);
    for (Py_ssize_t i = 0; rows && i < PyList_GET_SIZE(plans); i++) {
        int e = entity_index(PyTuple_GET_ITEM(PyList_GET_ITEM(plans, i), 0));
        PyObject *n = e < 0 ? NULL : PyLong_FromSize_t(c->t[e].n_rows);
        if (!n || PyList_Append(rows, n) < 0) Py_CLEAR(rows);
        Py_XDECREF(n);
    }
    if (!rows) { Py_DECREF(capsule); Py_DECREF(counts); return NULL; }
    return Py_BuildValue("(NNN)", capsule, counts, rows);
}

/* ---- writing JSON: emit(), which runs without the GIL but to hand each batch over ------- */

/* A JSON string as orjson (and the standard library, ensure_ascii=False) writes it. */
static int put_json_str(Buf *b, const char *p, size_t n) {
    if (buf_reserve(b, n + 2) < 0 || buf_putc(b, '"') < 0) return -1;
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch >= 0x20 && ch != '"' && ch != '\\') continue;
        if (buf_put(b, p + run, i - run) < 0) return -1;
        run = i + 1;
        char esc[8];
        switch (ch) {
        case '"': strcpy(esc, "\\\""); break;
        case '\\': strcpy(esc, "\\\\"); break;
        case '\n': strcpy(esc, "\\n"); break;
        case '\r': strcpy(esc, "\\r"); break;
        case '\t': strcpy(esc, "\\t"); break;
        case '\b': strcpy(esc, "\\b"); break;
        case '\f': strcpy(esc, "\\f"); break;
        default: snprintf(esc, sizeof esc, "\\u%04x", ch);
        }
        if (buf_puts(b, esc) < 0) return -1;
    }
    if (buf_put(b, p + run, n - run) < 0) return -1;
    return buf_putc(b, '"');
}

static int put_val(Ctx *c, Buf *b, Val *v) {
    char num[32];
    switch (v->type) {
    case V_STR: return put_json_str(b, v->u.p, v->n);
    case V_FRAG: return buf_put(b, v->u.p, v->n);
    case V_INT: snprintf(num, sizeof num, "%lld", v->u.i); return buf_puts(b, num);
    case V_LIST:
        if (buf_putc(b, '[') < 0) return -1;
        for (uint32_t i = 0; i < v->n; i++) {
            Str *item = &c->items.s[v->u.start + i];
            if ((i && buf_putc(b, ',') < 0) || put_json_str(b, item->p, item->n) < 0) return -1;
        }
        return buf_putc(b, ']');
    }
    return -1; /* V_FLOAT: check() made every float text */
}

static int32_t row_of(int32_t target) { return target & ((1 << 27) - 1); }

/* The canonical JSON of a row's properties (importers.build._node / _sections) into b. */
static int put_props(Ctx *c, Buf *b, Table *t, size_t r) {
    Val *row = t->vals + r * t->n_cols;
    int first = 1;
    if (buf_putc(b, '{') < 0) return -1;
    for (int k = 0; k < t->n_props; k++) {
        Prop *prop = &t->props[k];
        Val v = prop->col >= 0 ? row[prop->col] : (Val){0};
        const char *key = prop->key;
        switch (prop->from) {
        case P_LON:
        case P_LAT: {
            if (!t->has_point || !t->has_point[r]) continue;
            Str *text = prop->from == P_LON ? &t->lon_text[r] : &t->lat_text[r];
            v.type = V_FRAG; v.u.p = text->p; v.n = text->n;
            break;
        }
        case P_ROUTE:
            if (t->route && t->route[r].p) { v.type = V_STR; v.u.p = t->route[r].p; v.n = t->route[r].n; }
            break;
        case P_NOT_APPROX:
            v.type = V_FRAG; v.u.p = "false"; v.n = 5;
            break;
        case P_TIER_OR_CUSTOMERS: /* build._default_tier: else the customer's tier */
            if (v.type == V_NONE) {
                int32_t target = t->cols[t->c_customer].target[r];
                Table *cust = &c->t[E_CUSTOMERS];
                if (target >= 0 && cust->c_tier >= 0)
                    v = cust->vals[(size_t)row_of(target) * cust->n_cols + cust->c_tier];
            }
            break;
        }
        if (v.type == V_NONE) continue;
        if (!first && buf_putc(b, ',') < 0) return -1;
        first = 0;
        if (put_json_str(b, key, strlen(key)) < 0 || buf_putc(b, ':') < 0 || put_val(c, b, &v) < 0)
            return -1;
    }
    return buf_putc(b, '}');
}

static long long nid_of(Ctx *c, int32_t target) {
    return c->t[target >> 27].nid_base + row_of(target) + 1;
}


/* Relationship i of a type: 0 past the last; -1 where there is none (an empty circuit
 * end); else 1 with its table, row and end. */
static int rel_at(Ctx *c, int type, size_t i, Table **t, size_t *row, int *end) {
    *end = 0; *row = i;
    switch (type) {
    case R_HAS_SITE:
        *t = &c->t[E_SITES];
        if (!(*t)->present || (*t)->c_customer < 0 || i >= (*t)->n_rows) return 0;
        return (*t)->cols[(*t)->c_customer].target[i] >= 0 ? 1 : -1;
    case R_LOCATED_AT:
        *t = &c->t[E_EQUIPMENT];
        if (!(*t)->present || (*t)->c_location < 0 || i >= (*t)->n_rows) return 0;
        return (*t)->cols[(*t)->c_location].target[i] >= 0 ? 1 : -1;
    case R_TERMINATES_AT: {
        *t = &c->t[E_CIRCUITS]; *row = i / 2; *end = (int)(i % 2);
        if (!(*t)->present || i >= 2 * (*t)->n_rows) return 0;
        int col = *end ? (*t)->c_z_end : (*t)->c_a_end;
        return col >= 0 && (*t)->cols[col].target[*row] >= 0 ? 1 : -1;
    }
    case R_SEGMENT: *t = &c->t[E_SECTIONS]; return (*t)->present && i < (*t)->n_rows;
    case R_PATCH: *t = &c->t[E_PATCHES]; return (*t)->present && i < (*t)->n_rows;
    case R_SERVED_BY: *t = &c->t[E_SITES]; return i < c->n_served;
    }
    return 0;
}

static long long rel_count(Ctx *c, int type) {
    long long n = 0;
    Table *t; size_t row; int end, at;
    for (size_t i = 0; (at = rel_at(c, type, i, &t, &row, &end)) != 0; i++) n += at > 0;
    return n;
}

/* Nodes rows [r0, r1) of t, as the rows of _BULK_NODES: [[nid, id, props], …]. */
static int gen_nodes(Ctx *c, Table *t, size_t r0, size_t r1, Buf *out) {
    Buf *props = &c->scratch;
    char num[32];
    for (size_t r = r0; r < r1; r++) {
        Val *id = &t->vals[r * t->n_cols + t->c_id];
        props->n = 0;
        snprintf(num, sizeof num, "[%lld,", t->nid_base + (long long)r + 1);
        if (put_props(c, props, t, r) < 0 || buf_putc(out, r == r0 ? '[' : ',') < 0 ||
            buf_puts(out, num) < 0 || put_json_str(out, id->u.p, id->n) < 0 ||
            buf_putc(out, ',') < 0 || put_json_str(out, props->p, props->n) < 0 ||
            buf_putc(out, ']') < 0)
            return -1;
    }
    return buf_putc(out, ']');
}

/* One relationship as a row of _BULK_RELS ([rid, id, start nid, end nid, props]), and for
 * a SEGMENT its rows of _BULK_REFS: cable_id, then each of duct_ids (SqliteStore._refs). */
static int gen_rel(Ctx *c, int type, size_t i, Table *t, size_t row, int end, long long rid,
                   Buf *out, Buf *refs, long long *n_refs) {
    Buf *props = &c->scratch, id = {0};
    Val *vals = t->vals + row * t->n_cols;
    Val *own_id = &vals[t->c_id];
    long long start, stop;
    int bad = 0;
    char num[64];
    props->n = 0;
    switch (type) {
    case R_HAS_SITE:
        bad = buf_puts(&id, "HAS_SITE:") < 0 || buf_put(&id, own_id->u.p, own_id->n) < 0 ||
              buf_puts(props, "{}") < 0;
        start = nid_of(c, t->cols[t->c_customer].target[row]);
        stop = t->nid_base + (long long)row + 1;
        break;
    case R_LOCATED_AT:
        bad = buf_puts(&id, "LOCATED_AT:") < 0 || buf_put(&id, own_id->u.p, own_id->n) < 0 ||
              buf_puts(props, "{}") < 0;
        start = t->nid_base + (long long)row + 1;
        stop = nid_of(c, t->cols[t->c_location].target[row]);
        break;
    case R_TERMINATES_AT:
        bad = buf_puts(&id, "TERMINATES_AT:") < 0 || buf_put(&id, own_id->u.p, own_id->n) < 0 ||
              buf_puts(&id, end ? "->Z" : "->A") < 0 ||
              buf_puts(props, end ? "{\"end\":\"Z\"}" : "{\"end\":\"A\"}") < 0;
        start = t->nid_base + (long long)row + 1;
        stop = nid_of(c, t->cols[end ? t->c_z_end : t->c_a_end].target[row]);
        break;
    case R_SEGMENT:
    case R_PATCH:
        bad = buf_put(&id, own_id->u.p, own_id->n) < 0 || put_props(c, props, t, row) < 0;
        start = nid_of(c, t->cols[t->c_a].target[row]);
        stop = nid_of(c, t->cols[t->c_z].target[row]);
        break;
    default: { /* R_SERVED_BY */
        Served *sv = &c->served[i];
        Table *mps = &c->t[E_MPS];
        Val *site_id = &t->vals[(size_t)sv->site_row * t->n_cols + t->c_id];
        bad = buf_puts(&id, "SERVED_BY:") < 0 || buf_put(&id, site_id->u.p, site_id->n) < 0 ||
              buf_puts(props, "{\"distance_km\":") < 0 ||
              buf_put(props, sv->km_text.p, sv->km_text.n) < 0 || buf_putc(props, '}') < 0;
        start = t->nid_base + sv->site_row + 1;
        stop = mps->nid_base + sv->depot_row + 1;
    }
    }
    snprintf(num, sizeof num, "[%lld,", rid);
    bad = bad || buf_puts(out, num) < 0 || put_json_str(out, id.p, id.n) < 0;
    buf_free(&id);
    snprintf(num, sizeof num, ",%lld,%lld,", start, stop);
    if (bad || buf_puts(out, num) < 0 || put_json_str(out, props->p, props->n) < 0 ||
        buf_putc(out, ']') < 0)
        return -1;
    if (type != R_SEGMENT) return 0;
    const char *keys[2] = {"cable_id", "duct_ids"};
    int cols[2] = {t->c_cable, t->c_ducts};
    for (int k = 0; k < 2; k++) {
        if (cols[k] < 0) continue;
        Val *v = &vals[cols[k]];
        uint32_t items = v->type == V_LIST ? v->n : v->type == V_STR ? 1 : 0;
        for (uint32_t j = 0; j < items; j++) {
            Str item = v->type == V_LIST ? c->items.s[v->u.start + j] : (Str){v->u.p, v->n};
            snprintf(num, sizeof num, "[%lld,", rid);
            if (buf_putc(refs, *n_refs ? ',' : '[') < 0 || buf_puts(refs, num) < 0 ||
                put_json_str(refs, keys[k], strlen(keys[k])) < 0 || buf_putc(refs, ',') < 0 ||
                put_json_str(refs, item.p, item.n) < 0 || buf_putc(refs, ']') < 0)
                return -1;
            (*n_refs)++;
        }
    }
    return 0;
}

/* Up to BATCH relationships of a type from *i on, numbered from *rid + 1. */
static int gen_rels(Ctx *c, int type, size_t *i, long long *rid, Buf *out, Buf *refs,
                    long long *n, long long *n_refs) {
    Table *t; size_t row; int end, at;
    for (; *n < BATCH && (at = rel_at(c, type, *i, &t, &row, &end)) != 0; (*i)++) {
        if (at < 0) continue;
        if (buf_putc(out, *n ? ',' : '[') < 0 ||
            gen_rel(c, type, *i, t, row, end, ++*rid, out, refs, n_refs) < 0)
            return -1;
        (*n)++;
    }
    if (*n && buf_putc(out, ']') < 0) return -1;
    if (*n_refs && buf_putc(refs, ']') < 0) return -1;
    return 0;
}

/* callback(kind, name, text, records) with a batch's JSON text; b emptied. */
static int hand_over(PyObject *callback, const char *kind, const char *name, Buf *b,
                     long long n) {
    PyObject *text = PyUnicode_DecodeUTF8(b->p, (Py_ssize_t)b->n, "strict");
    if (!text) return -1;
    PyObject *r = PyObject_CallFunction(callback, "ssNL", kind, name, text, n);
    b->n = 0;
    if (!r) return -1;
    Py_DECREF(r);
    return 0;
}

/* emit(handle, callback): callback(kind, name, json_text, records) for each batch, kind
 * "nodes" (name: the label), "rels" (the type) or "refs" (the rel_refs rows of the batch
 * before, records 0). Each batch is made with the GIL released: the callback's SQLite
 * statement, on the store's thread, runs meanwhile. */
static PyObject *fast_emit(PyObject *self, PyObject *args) {
    PyObject *capsule, *callback;
    if (!PyArg_ParseTuple(args, "OO", &capsule, &callback)) return NULL;
    Ctx *c = PyCapsule_GetPointer(capsule, CAPSULE);
    if (!c) return NULL;
    Buf out = {0}, refs = {0};
    int status;
    for (size_t k = 0; k < N_NODE_ORDER; k++) {
        Table *t = &c->t[NODE_ORDER[k]];
        if (!t->present) continue;
        for (size_t r0 = 0; r0 < t->n_rows; r0 += BATCH) {
            size_t r1 = r0 + BATCH < t->n_rows ? r0 + BATCH : t->n_rows;
            Py_BEGIN_ALLOW_THREADS
            status = gen_nodes(c, t, r0, r1, &out);
            Py_END_ALLOW_THREADS
            if (status < 0 || hand_over(callback, "nodes", ENTITY_LABELS[t->entity], &out,
                                        (long long)(r1 - r0)) < 0)
                goto fail;
        }
    }
    long long rid = 0;
    for (int type = 0; type < N_RELS; type++) {
        size_t i = 0;
        for (;;) {
            long long n = 0, n_refs = 0;
            Py_BEGIN_ALLOW_THREADS
            status = gen_rels(c, type, &i, &rid, &out, &refs, &n, &n_refs);
            Py_END_ALLOW_THREADS
            if (status < 0) goto fail;
            if (!n) break;
            if (hand_over(callback, "rels", REL_TYPES[type], &out, n) < 0 ||
                (n_refs && hand_over(callback, "refs", "", &refs, 0) < 0))
                goto fail;
        }
    }
    buf_free(&out); buf_free(&refs);
    Py_RETURN_NONE;
fail:
    buf_free(&out); buf_free(&refs);
    raise_nomem();
    return NULL;
}

/* ---- helpers for the tests --------------------------------------------------------------- */

static PyObject *fast_strip(PyObject *self, PyObject *arg) {
    if (!PyBytes_Check(arg)) { PyErr_SetString(PyExc_TypeError, "bytes"); return NULL; }
    const char *p = PyBytes_AS_STRING(arg);
    size_t n = (size_t)PyBytes_GET_SIZE(arg);
    if (!utf8_valid((const unsigned char *)p, n)) { PyErr_SetString(PyExc_ValueError, "not UTF-8"); return NULL; }
    strip(&p, &n);
    return PyBytes_FromStringAndSize(p, (Py_ssize_t)n);
}

static PyObject *fast_nfc_safe_ranges(PyObject *self, PyObject *unused) {
    PyObject *list = PyList_New(0);
    for (size_t i = 0; list && i < N_NFC_SAFE; i++) {
        PyObject *pair = Py_BuildValue("(II)", NFC_SAFE[i][0], NFC_SAFE[i][1]);
        if (!pair || PyList_Append(list, pair) < 0) { Py_XDECREF(pair); Py_CLEAR(list); break; }
        Py_DECREF(pair);
    }
    return list;
}

static PyObject *fast_utf8_valid(PyObject *self, PyObject *arg) {
    if (!PyBytes_Check(arg)) { PyErr_SetString(PyExc_TypeError, "bytes"); return NULL; }
    return PyBool_FromLong(utf8_valid((const unsigned char *)PyBytes_AS_STRING(arg), (size_t)PyBytes_GET_SIZE(arg)));
}

static PyMethodDef methods[] = {
    {"check", fast_check, METH_VARARGS, "check(plans, nearest) -> (handle, counts, rows per file) or (None, reason, None)"},
    {"emit", fast_emit, METH_VARARGS, "emit(handle, callback): the bulk statements' JSON"},
    {"strip", fast_strip, METH_O, "strip(utf8 bytes) as str.strip() (for the tests)"},
    {"nfc_safe_ranges", fast_nfc_safe_ranges, METH_NOARGS, "the NFC-safe ranges (for the tests)"},
    {"utf8_valid", fast_utf8_valid, METH_O, "whether bytes are strict UTF-8 (for the tests)"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fastimport",
                                    "The compiled fast path of a first import (importers.fast).",
                                    -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__fastimport(void) { return PyModule_Create(&module); }
