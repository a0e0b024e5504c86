/* SPDX-License-Identifier: MIT
 *
 * A SPIN model of the writer lock (platform/lock_word.hpp,
 * platform/writer_lock.cpp, shared by the Linux and Windows backends), the
 * seqlock publish (src/value.hpp: claim_slot, publish, read_value; value.cpp:
 * try_read) and the wait handshake (src/wait.cpp: wait_segment;
 * src/value.hpp: wake_waiters, the look at the waiter count after publish).
 * tests/CMakeLists.txt checks it exhaustively (test writer_lock_model) and
 * checks that each BREAK_* variant below fails (writer_lock_model_broken_*).
 *
 * Labels in brackets name the steps marked the same way in the code: the
 * uncontended lock ([L1], [L2]) and release ([U1], [U3]) are inline in
 * platform/writer_lock.hpp, and writer_lock.cpp repeats [L1] and [L2] in
 * lock_slow, where every other step is. In the runs below but one, each
 * writer is one thread of its own attachment, and the holder word ([L1],
 * which the threads of one attachment take in turn) is always free; the run
 * -DCHECK_THREADS models it (see there).
 * Promela executes statements one at a time in one global order: the model
 * is the sequentially consistent execution the code asks for where it
 * matters (seq_cst generation store and waiter count; the lock word's
 * read-modify-writes); the acquire/release ordering of the seqlock itself
 * is checked by ThreadSanitizer runs, not here.
 *
 * Processes: NW writers, each its own attachment (process) with its own
 * owner slot (but in the run CHECK_THREADS, below); a reader; a waiter. A writer may die (SIGKILL) between any
 * two of its steps, at most MAXDEATHS times in all: the OS drops its slot's
 * liveness token (its OFD byte lock; on Windows its #slot.<n> event), its memory stays as it was, and it
 * comes back as a new attachment that claims a free slot (maybe the same
 * one: the ABA case). A writer's thread may also end while it holds the lock
 * (the thread-exit hook, [T1]). Properties:
 *  - mutual exclusion: at most one writer between lock and unlock;
 *  - no torn publish: a reader accepts only a value both halves of which
 *    one writer wrote;
 *  - no lost wake-up: the waiter, counted in before a write completes, is
 *    woken (otherwise it sleeps forever: an invalid end state);
 *  - handover: every writer finishes its writes whoever died where (a lock
 *    left held by the dead would block them: an invalid end state). A
 *    sleeping locker's slice may end at any moment, but only while its
 *    holder is dead (or after a death changed the word: a releaser killed
 *    between [U1] and [U2] wakes nobody), so a release that forgets to
 *    wake a sleeper is caught too.
 */

#ifdef CHECK_THREADS
/* Writers 0 and 1 are two threads of one attachment (attachment 0, owner
   slot 1, which neither dies: their thread may still end holding the lock,
   [T1]); writer 2 is an attachment of another process, which may die. The
   threads of attachment 0 take its holder word ([L1]) before the shared
   word and give it back after it ([U3]); a thread that finds the holder
   word taken while the shared word is held sleeps on the shared word
   (take_holder_word) and, woken, passes the wake on if it cannot use it
   ([L1b]). */
#define NW 3
#define ATT(id) ((id) == 1 -> 0 : (id))
#define CAN_DIE (id == 2)
#else
#define NW 2          /* writers */
#define ATT(id) (id)
#define CAN_DIE 1
#endif
#define WRITES 1      /* completed writes per writer */
#define MAXDEATHS 1
#define NSLOTS 3      /* owner slots 1..NSLOTS (0: none) */

#define FREE 0
#define DIED 64       /* kFreeOwnerDied */
#define WBIT 128      /* kWaiters */
#define OWNER(s) ((s) & 63)

byte state = FREE;            /* lock_word::Shared::state */
byte token[NSLOTS + 1];       /* liveness tokens: holder's id + 1, 0 free */
byte lock_sleeping[NW];       /* futex sleepers on state */
byte holder[NW];              /* an attachment's holder word: thread id + 1, 0 free */
byte in_cs = 0;
byte deaths = 0;

/* The value protocol (layout.hpp): two slots, halves a and b of a value. */
byte gen = 0;
byte seq[2];
byte data_a[2];
byte data_b[2];

/* The wait handshake (layout.hpp: change_word, waiters). */
byte waiters = 0;
byte change_word = 0;
bit change_sleeping = 0;

byte done[NW];

#define MAY_DIE if :: deaths < MAXDEATHS && CAN_DIE -> goto died :: true -> skip fi
/* [U2] and [L1b]: wakes one sleeper on state, any of them */
#if NW == 3
#define WAKE_THIRD :: lock_sleeping[2] == 1 -> lock_sleeping[2] = 0
#else
#define WAKE_THIRD
#endif
#define WAKE_ONE \
  if \
  :: lock_sleeping[0] == 1 -> lock_sleeping[0] = 0 \
  :: lock_sleeping[1] == 1 -> lock_sleeping[1] = 0 \
  WAKE_THIRD \
  :: else -> skip \
  fi
/* Deaths while acquiring matter to the lock's own properties; the runs
   that check the publish and the wake-up leave them out (CHECK_LOCK covers
   them) to keep their state spaces small. */
#if defined(CHECK_LOCK) || defined(CHECK_THREADS)
#define LOCK_MAY_DIE MAY_DIE
#else
#define LOCK_MAY_DIE skip
#endif

proctype writer(byte id) {
  byte mine;    /* this attachment's slot */
  byte seen;
  byte t;
  byte sq;
  bit waited;
  bit wake;
  bit holding;  /* between in_cs++ and in_cs-- */
  bit woken;    /* [L1]: the last sleep ended without its slice ending */

start:
#ifdef CHECK_THREADS
  if
  :: ATT(id) == 0 -> mine = 1; goto next_write           /* claimed in init */
  :: else -> skip
  fi;
#endif
  /* [claim] an owner slot whose token nobody holds (claim_slot) */
  atomic {
    if
    :: token[1] == 0 -> mine = 1
    :: token[2] == 0 -> mine = 2
    :: token[3] == 0 -> mine = 3
    fi;
    token[mine] = id + 1
  }

next_write:
  if
  :: done[id] >= WRITES -> goto finished
  :: else -> skip
  fi;
  waited = 0;

#ifdef CHECK_THREADS
  /* [L1] the holder word: free -> this thread (take_holder_word when not) */
holder_word:
  atomic {
    if
    :: holder[ATT(id)] == 0 -> holder[ATT(id)] = id + 1; goto holder_taken
    :: else -> skip
    fi
  }
  seen = state;
  if
  :: seen == FREE || seen == DIED ->
     /* the other thread is between the two words: a moment ([L1b] first:
        a wake this thread took may have been for a locker of the shared
        word, the other thread among them) */
#ifndef BREAK_NO_PASS_ON
     if :: woken -> woken = 0; WAKE_ONE :: else -> skip fi;
#endif
     (holder[ATT(id)] == 0 || (state != FREE && state != DIED));
     goto holder_word
  :: else -> skip
  fi;
  if
  :: (seen & WBIT) == 0 ->
     atomic { if :: state == seen -> state = seen | WBIT; seen = seen | WBIT
                 :: else -> goto holder_word fi }
  :: else -> skip
  fi;
  atomic {
    if
    :: state != seen -> woken = 1                        /* EAGAIN */
    :: else -> lock_sleeping[id] = 1
    fi
  }
  if
  :: lock_sleeping[id] == 0 -> woken = 1                 /* woken (or EAGAIN) */
  :: lock_sleeping[id] == 1 &&
     (token[OWNER(seen)] == 0 || (state != seen && deaths > 0)) ->
     lock_sleeping[id] = 0; woken = 0                    /* the slice ended */
  fi;
  waited = 1;                                            /* slept: [L2] keeps the bit */
  goto holder_word;
holder_taken:
  woken = 0;
#endif

  /* [L2] uncontended: CAS free -> mine */
  LOCK_MAY_DIE;
  atomic {
    seen = state;
    if :: seen == FREE -> state = mine | (waited * WBIT); goto locked :: else -> skip fi
  }

contended:
  LOCK_MAY_DIE;
  if
  :: seen == FREE ->                                     /* [L3] */
     atomic { if :: state == seen -> state = mine | (waited * WBIT); goto locked
                 :: else -> seen = state; goto contended fi }
  :: seen == DIED ->                                     /* [L4] */
     atomic { if :: state == seen -> state = mine | (waited * WBIT); goto locked
                 :: else -> seen = state; goto contended fi }
  :: seen != FREE && seen != DIED && OWNER(seen) == mine ->  /* [L5] */
     atomic { if :: state == seen -> state = mine | (seen & WBIT); goto locked
                 :: else -> seen = state; goto contended fi }
  :: seen != FREE && seen != DIED && OWNER(seen) != mine ->
     skip
  fi;
  /* [L6] announce a sleeper, then sleep while the word is unchanged */
#ifndef BREAK_NO_WAITERS_BIT
  if
  :: (seen & WBIT) == 0 ->
     atomic { if :: state == seen -> state = seen | WBIT; seen = seen | WBIT
                 :: else -> seen = state; goto contended fi }
  :: else -> skip
  fi;
#endif
  LOCK_MAY_DIE;
  atomic {
    if
    :: state != seen -> skip                             /* EAGAIN */
    :: else -> lock_sleeping[id] = 1
    fi
  }
  if
  :: lock_sleeping[id] == 0 -> skip                      /* woken */
  :: lock_sleeping[id] == 1 &&
     (token[OWNER(seen)] == 0 || (state != seen && deaths > 0)) ->
     /* [L7] the slice ended and the holder's attachment is dead: take its
        token for the moment, then the lock if it still names that slot */
     lock_sleeping[id] = 0;
#ifndef BREAK_NO_TOKEN
     atomic {
       if
       :: token[OWNER(seen)] == 0 -> token[OWNER(seen)] = id + 1 + NW
       :: else -> seen = state; goto contended
       fi
     }
#endif
     LOCK_MAY_DIE;
     atomic {
       if
       :: OWNER(state) == OWNER(seen) && state != FREE && state != DIED ->
          state = mine | WBIT;
#ifndef BREAK_NO_TOKEN
          token[OWNER(seen)] = 0;
#endif
          goto locked
       :: else -> skip
       fi
     }
#ifndef BREAK_NO_TOKEN
     token[OWNER(seen)] = 0;
#endif
  fi;
  waited = 1;
  seen = state;
  goto contended;

locked:
  in_cs++;
  holding = 1;
  assert(in_cs == 1);                                    /* mutual exclusion */
  /* claim_slot: the slot readers do not take, its seq made odd */
  d_step { seen = 0; waited = 0; t = (gen + 1) % 2; sq = seq[t] };
  MAY_DIE;
#ifndef BREAK_NO_ODD
  d_step { seq[t] = sq + 1 + (sq & 1); sq = 0 };
#else
  /* the slot not marked odd while it is filled: a lapped reader tears */
  d_step { seq[t] = sq + (sq & 1); sq = 0 };
#endif
  MAY_DIE;
  data_a[t] = id * 8 + done[id] + 1;                      /* the copy, in two halves */
  MAY_DIE;
  data_b[t] = id * 8 + done[id] + 1;
  MAY_DIE;
  /* publish: seq even, then the generation (seq_cst) */
  seq[t] = seq[t] + 1;
  MAY_DIE;
  gen = gen + 1;
  MAY_DIE;
  /* a holder thread that ends here, holding the lock: the exit hook frees
     it as "owner died" ([T1]); otherwise the release ([U1], [U2], [U3]) */
  atomic { in_cs--; holding = 0 };
#if defined(CHECK_THREADS) && defined(BREAK_HOLDER_FIRST)
  holder[ATT(id)] = 0;                                   /* [U3] too early */
#endif
  atomic {
    if
    :: OWNER(state) == mine && state != DIED && state != FREE ->
       wake = (state & WBIT) != 0;
       if
       :: state = FREE                                   /* [U1] */
       :: state = DIED                                   /* [T1] */
       fi
    :: else -> wake = 0
    fi
  }
  MAY_DIE;
#ifndef BREAK_NO_LOCK_WAKE
  if                                                     /* [U2] wake one */
  :: wake -> WAKE_ONE
  :: else -> skip
  fi;
#endif
#if defined(CHECK_THREADS) && !defined(BREAK_HOLDER_FIRST)
  holder[ATT(id)] = 0;                                   /* [U3] */
#endif
  MAY_DIE;
  /* publish: the waiter count, after the generation */
  if
  :: waiters > 0 ->
     change_word++;
     MAY_DIE;
     change_sleeping = 0                                 /* wake_all */
  :: else -> skip
  fi;
  d_step { done[id]++; t = 0; sq = 0; seen = 0; wake = 0; waited = 0 };
  goto next_write;

died:
  /* SIGKILL: the OS drops the attachment's tokens; memory stays. A new
     attachment of the same writer takes its place. */
  atomic {
    deaths++;
    if :: holding -> in_cs--; holding = 0 :: else -> skip fi;
    if :: token[1] == id + 1 || token[1] == id + 1 + NW -> token[1] = 0 :: else -> skip fi;
    if :: token[2] == id + 1 || token[2] == id + 1 + NW -> token[2] = 0 :: else -> skip fi;
    if :: token[3] == id + 1 || token[3] == id + 1 + NW -> token[3] = 0 :: else -> skip fi;
    lock_sleeping[id] = 0;
    holder[ATT(id)] = 0;                                 /* process memory */
    mine = 0; seen = 0; t = 0; sq = 0; waited = 0; wake = 0; woken = 0
  }
  goto start;

finished:
  skip
}

/* try_read: a copy is accepted only if its slot's seq was even and
   unchanged around it (one attempt: a retry is another attempt, at any
   interleaving the search visits anyway). */
proctype reader() {
  byte t;
  byte s1;
  byte a;
  byte b;
  t = gen % 2;
  s1 = seq[t];
  if
  :: (s1 & 1) == 0 ->
     a = data_a[t];
     b = data_b[t];
     if
     :: seq[t] == s1 -> assert(a == b)                   /* no torn publish */
     :: else -> skip
     fi
  :: else -> skip
  fi
}

/* wait_segment: count in, read the word, re-check the generation, sleep
   while the word is unchanged. */
proctype waiter() {
  byte word;
  do
  :: gen != 0 -> break
  :: gen == 0 ->
#ifndef BREAK_WAIT_ORDER
     waiters++;
     word = change_word;
     if :: gen != 0 -> waiters--; break :: else -> skip fi;
#else
     /* the re-check before counting in: a write in between is missed */
     if :: gen != 0 -> break :: else -> skip fi;
     waiters++;
     word = change_word;
#endif
     atomic { if :: change_word != word -> skip :: else -> change_sleeping = 1 fi };
     (change_sleeping == 0);
     waiters--
  od
}

/* The properties are checked in four runs, each with the writers and one
   observer, to keep each state space small enough for an exhaustive search
   in ctest: -DCHECK_LOCK (writers alone), -DCHECK_PUBLISH (with the
   reader), -DCHECK_WAIT (with the waiter), -DCHECK_THREADS (two threads of
   one attachment and a writer of another). */
init {
  atomic {
#ifdef CHECK_THREADS
    token[1] = 1;                                        /* attachment 0's slot */
    run writer(2);
#endif
    run writer(0);
    run writer(1);
#ifdef CHECK_PUBLISH
    run reader();
#endif
#ifdef CHECK_WAIT
    run waiter();
#endif
  }
}
