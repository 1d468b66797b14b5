// Package ratelimit provides keyed token-bucket rate limiting with bounded
// memory, for limiting thousands of users, API keys or IP addresses at once.
//
// Each key owns a token bucket from golang.org/x/time/rate; the buckets are
// kept in a least-recently-used cache of at most Options.MaxKeys entries, so
// memory stays bounded whatever the number of distinct keys.
//
// Keys share one namespace: a key used with two different Limits keeps only
// the most recent one (see Limiter.Allow). Callers that apply several limits
// to the same identity should prefix keys, for example "ip:203.0.113.7" and
// "key:7f3a…:ip:203.0.113.7".
package ratelimit

import (
	"math"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// DefaultMaxKeys is the number of keys a Limiter remembers when
// Options.MaxKeys is zero or negative.
const DefaultMaxKeys = 100_000

// Options configures a Limiter. The zero value is ready to use.
type Options struct {
	// MaxKeys bounds the number of keys whose buckets are remembered
	// (default DefaultMaxKeys). When it is exceeded, the least recently used
	// key is evicted; an evicted key simply starts again with a full bucket
	// the next time it is seen.
	//
	// Warning: eviction errs on the side of allowing. A client that can make
	// the server see more than MaxKeys other keys between two of its own
	// requests (for example by spreading traffic over many IP addresses) gets
	// a fresh bucket each time. Size MaxKeys above the number of keys active
	// within one refill period.
	MaxKeys int

	// Now returns the current time (default time.Now). Tests inject a fake
	// clock here.
	Now func() time.Time
}

// Limit is a rate: at most Events per Per on average, with bursts of up to
// Burst events. For example Limit{Events: 100, Per: time.Hour} (a
// maxQueriesPerIPPerHour of 100) or Limit{Events: 30, Per: time.Minute}.
//
// A Limit whose Events or Per is zero or negative means "no limit": Allow
// always allows it and stores nothing, as a maxQueriesPerIPPerHour or
// rateLimit of 0 does.
type Limit struct {
	// Events is the number of events allowed per Per.
	Events int
	// Per is the period over which Events are allowed.
	Per time.Duration
	// Burst is the bucket size: the number of events allowed at once after
	// a quiet period. Zero or negative means Events.
	Burst int
}

// unlimited reports whether l imposes no limit at all.
func (l Limit) unlimited() bool { return l.Events <= 0 || l.Per <= 0 }

// burst returns the effective bucket size of l.
func (l Limit) burst() int {
	if l.Burst <= 0 {
		return l.Events
	}
	return l.Burst
}

// rate returns the refill rate of l in the form golang.org/x/time/rate uses.
func (l Limit) rate() rate.Limit { return rate.Every(l.Per / time.Duration(l.Events)) }

// Decision is the outcome of one Limiter.Allow call.
type Decision struct {
	// Allowed reports whether the event may proceed. When true, one token
	// has been taken from the key's bucket.
	Allowed bool
	// RetryAfter is zero when Allowed. When refused, it is how long until
	// one event is available, rounded up to whole seconds and at least one
	// second, suitable for an HTTP Retry-After header.
	RetryAfter time.Duration
	// Remaining is the number of whole events still available right after
	// this decision: 0 when refused, and -1 when the Limit imposes no limit.
	Remaining int
}

// Limiter applies token-bucket limits to many keys with bounded memory.
// It is safe for concurrent use; build one with New.
type Limiter struct {
	now     func() time.Time
	buckets *lru.Cache[string, *rate.Limiter]

	// mu serialises creating and replacing buckets, so that concurrent
	// first requests for a key share one bucket instead of each getting a
	// full one. The common path (an existing, matching bucket) does not
	// take it.
	mu sync.Mutex

	// testHookMiss, if set, runs after a cache miss and before mu is
	// taken. Tests use it to make concurrent misses deterministic.
	testHookMiss func()
}

// New returns a Limiter configured by opts.
func New(opts Options) *Limiter {
	if opts.MaxKeys <= 0 {
		opts.MaxKeys = DefaultMaxKeys
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	buckets, err := lru.New[string, *rate.Limiter](opts.MaxKeys)
	if err != nil {
		// lru.New fails only for a non-positive size, excluded above.
		panic("ratelimit: " + err.Error())
	}
	return &Limiter{now: opts.Now, buckets: buckets}
}

// Allow takes one event from key's bucket under limit, if one is available
// at the current time, and reports the decision.
//
// A key seen for the first time (or again after eviction) starts with a
// full bucket. If key was last used with a different rate or burst (its
// settings changed), its bucket is replaced by a new, full one under limit.
func (l *Limiter) Allow(key string, limit Limit) Decision {
	if limit.unlimited() {
		return Decision{Allowed: true, Remaining: -1}
	}
	now := l.now()
	b := l.bucket(key, limit)
	if b.AllowN(now, 1) {
		return Decision{Allowed: true, Remaining: remaining(b.TokensAt(now))}
	}
	return Decision{RetryAfter: retryAfter(b, now)}
}

// Exhausted reports, without taking anything, whether key's bucket for limit is empty, and
// if so how long until one event is available. A key never seen is not exhausted (and is not
// remembered). Use it with Allow to limit only some outcomes: check Exhausted first, and
// call Allow only when the outcome to limit happens.
func (l *Limiter) Exhausted(key string, limit Limit) (bool, time.Duration) {
	if limit.unlimited() {
		return false, 0
	}
	b, ok := l.buckets.Peek(key)
	if !ok || !matches(b, limit.rate(), limit.burst()) {
		return false, 0
	}
	now := l.now()
	if b.TokensAt(now) >= 1 {
		return false, 0
	}
	return true, retryAfter(b, now)
}

// Len returns the number of keys currently remembered; it is at most
// Options.MaxKeys.
func (l *Limiter) Len() int { return l.buckets.Len() }

// bucket returns key's bucket for limit, creating or replacing it if needed.
func (l *Limiter) bucket(key string, limit Limit) *rate.Limiter {
	r, burst := limit.rate(), limit.burst()
	if b, ok := l.buckets.Get(key); ok && matches(b, r, burst) {
		return b
	}
	if l.testHookMiss != nil {
		l.testHookMiss()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// Another goroutine may have created the bucket since the check above.
	if b, ok := l.buckets.Get(key); ok && matches(b, r, burst) {
		return b
	}
	b := rate.NewLimiter(r, burst)
	l.buckets.Add(key, b)
	return b
}

// matches reports whether b was built for rate r and burst.
func matches(b *rate.Limiter, r rate.Limit, burst int) bool {
	return b.Limit() == r && b.Burst() == burst
}

// remaining converts a token count to whole events available, rounding down
// exactly as x/time/rate does when it decides (it refuses below one token),
// so that Remaining > 0 promises the next event is allowed.
func remaining(tokens float64) int {
	if !(tokens > 0) { // also catches NaN
		return 0
	}
	return int(math.Floor(tokens))
}

// retryAfter returns the smallest whole number of seconds, at least one,
// after which b will hold one token according to the library's own
// arithmetic (TokensAt), assuming no other events in between.
func retryAfter(b *rate.Limiter, now time.Time) time.Duration {
	r := b.Limit()
	if r == rate.Inf {
		return time.Second
	}
	if r <= 0 {
		// Unreachable for Limits built by this package; never refills.
		return time.Duration(math.MaxInt64).Truncate(time.Second)
	}
	missing := 1 - b.TokensAt(now)
	wait := time.Second
	if missing > 0 {
		secs := math.Ceil(missing / float64(r))
		if secs > float64(math.MaxInt64/int64(time.Second)) {
			return time.Duration(math.MaxInt64).Truncate(time.Second)
		}
		wait = max(time.Duration(secs)*time.Second, time.Second)
	}
	// The estimate above and the library may round differently by a hair;
	// settle on the library's answer.
	for wait > time.Second && b.TokensAt(now.Add(wait-time.Second)) >= 1 {
		wait -= time.Second
	}
	for b.TokensAt(now.Add(wait)) < 1 {
		wait += time.Second
	}
	return wait
}
