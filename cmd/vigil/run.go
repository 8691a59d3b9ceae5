package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"
	"golang.org/x/time/rate"

	"github.com/vigil-sec/vigil/adapters/console"
	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/bot/clock"
	"github.com/vigil-sec/vigil/config"
	"github.com/vigil-sec/vigil/internal/httpserver"
	"github.com/vigil-sec/vigil/internal/metrics"
	"github.com/vigil-sec/vigil/internal/reconnect"
	"github.com/vigil-sec/vigil/store"
	redisstore "github.com/vigil-sec/vigil/store/redis"
)

// runOptions are the parsed flags of "vigil" (run).
type runOptions struct {
	ConfigPath string
	Data       string
	Files      string // the console's files folder (--files; default files/ in the data directory)
	As         string
	Clock      time.Time // zero: the wall clock
	LogLevel   string
	// Console runs the console even when chat adapters are configured,
	// or when standard input and output are not a terminal (scripts).
	Console bool
	// retry is the chat adapters' backoff when their platform cannot be
	// reached (zero: theirs); tests shorten it.
	retry reconnect.Backoff
}

func parseRun(args []string, lookup env) (runOptions, error) {
	var (
		o        runOptions
		clockArg string
	)
	fs := flag.NewFlagSet("vigil", flag.ContinueOnError)
	fs.StringVar(&o.ConfigPath, "config", "", "")
	fs.StringVar(&o.Data, "data", "", "")
	fs.StringVar(&o.Files, "files", "", "")
	fs.StringVar(&o.As, "as", "", "")
	fs.StringVar(&clockArg, "clock", "", "")
	fs.StringVar(&o.LogLevel, "log-level", "", "")
	fs.BoolVar(&o.Console, "console", false, "")
	if err := parseFlags(fs, args, "unknown command"); err != nil {
		return o, err
	}
	o.ConfigPath = configPath(o.ConfigPath, lookup)
	if clockArg != "" {
		t, err := time.Parse(time.RFC3339, clockArg)
		if err != nil {
			return o, fmt.Errorf("--clock %q: want RFC 3339 time like 2026-01-05T09:00:00Z", clockArg)
		}
		o.Clock = t
	}
	if o.LogLevel != "" {
		switch config.LogLevel(o.LogLevel) {
		case config.LevelDebug, config.LevelInfo, config.LevelWarn, config.LevelError:
		default:
			return o, fmt.Errorf("--log-level %q: want debug, info, warn or error", o.LogLevel)
		}
	}
	o.As = strings.TrimPrefix(o.As, "@")
	return o, nil
}

func runMain(args []string, s streams, lookup env) int {
	o, err := parseRun(args, lookup)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(s.Out, mainUsage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(s.Err, "vigil: %v\n\n%s", err, mainUsage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, s, lookup); err != nil {
		fmt.Fprintf(s.Err, "vigil: %v\n", err)
		return 1
	}
	return 0
}

// run builds Vigil and serves it until the console's input ends, a signal
// arrives or a part fails.
func run(ctx context.Context, o runOptions, s streams, lookup env) error {
	p, err := build(ctx, o, s, lookup)
	if err != nil {
		return err
	}
	defer p.close()
	return p.serve(ctx, s.Err)
}

// parts are a built Vigil, ready to serve: what runs side by side, and
// what to close once it has stopped.
type parts struct {
	// loop is the engine's loop (jobs, delivery); nil on a fake clock,
	// where the console drives the engine instead.
	loop    func(context.Context) error
	http    *httpserver.Server // bound; nil when http.listen is not set
	console *console.Adapter   // nil when the console is off
	chats   []chatAdapter
	sources []func(context.Context) error // report intake: mail, GitHub
	closers []func()
}

// onClose adds f to what close runs.
func (p *parts) onClose(f func()) { p.closers = append(p.closers, f) }

// close releases what build opened (the store, the SMTP port, the
// terminal), last opened first.
func (p *parts) close() {
	for _, f := range slices.Backward(p.closers) {
		f()
	}
}

// build makes everything Vigil runs from the flags and the configuration,
// in the order their dependencies ask, and does the I/O that must fail at
// start: it opens the store and the terminal and binds the ports. On an
// error it closes what it had opened.
func build(ctx context.Context, o runOptions, s streams, lookup env) (_ *parts, err error) {
	cfg, err := loadConfig(o, lookup)
	if err != nil {
		return nil, err
	}
	interactive := s.InFile != nil && s.OutFile != nil &&
		term.IsTerminal(int(s.InFile.Fd())) && term.IsTerminal(int(s.OutFile.Fd()))
	// The console reads commands from standard input. Without a chat
	// adapter it runs on a terminal, or when asked (--console, for
	// scripts); under a service manager or in a container standard input
	// is /dev/null, and reading its end must not stop Vigil: it runs
	// headless (intake, scheduler, HTTP) until signalled.
	hasChat := cfg.Slack.Enabled() || cfg.Matrix.Enabled()
	useConsole := o.Console || (!hasChat && interactive)
	logger := newLogger(cfg, o, s.Err, interactive, useConsole && interactive)

	p := &parts{}
	defer func() {
		if err != nil {
			p.close()
		}
	}()
	redisstore.RouteClientLogs(logger)
	st, err := openStore(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	p.onClose(func() { st.Close() })
	fmt.Fprintf(s.Err, "vigil: state in %s\n", st.Describe())
	var (
		clk  clock.Clock = clock.Real{}
		fake *clock.Fake
	)
	if !o.Clock.IsZero() {
		fake = clock.NewFake(o.Clock)
		clk = fake
		fmt.Fprintf(s.Err, "vigil: fake clock at %s (use :advance)\n", o.Clock.Format(time.RFC3339))
	}
	people, as := consoleDirectory(cfg.People, o.As)
	mets := metrics.New()
	engine, err := newEngine(cfg, st, clk, people, mets, logger, lookup)
	if err != nil {
		return nil, err
	}
	if fake == nil {
		// On the wall clock the engine's loop runs jobs and delivers in
		// the background; on a fake clock the console drives it.
		p.loop = engine.Run
	}
	if err := p.addFeatures(ctx, cfg, engine, mets, logger, o.retry); err != nil {
		return nil, err
	}
	if useConsole {
		if err := p.openConsole(engine, as, fake, s, interactive, consoleFiles(cfg, o)); err != nil {
			return nil, err
		}
	}
	if cfg.HTTP.Enabled() {
		if err := p.listenHTTP(cfg, engine, mets, logger, s.Err); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// loadConfig reads the configuration (file and environment) and applies
// --data.
func loadConfig(o runOptions, lookup env) (*config.Config, error) {
	cfg, err := config.Load(o.ConfigPath, lookup)
	if err != nil {
		if o.ConfigPath != "" {
			return nil, fmt.Errorf("configuration %s:\n%w", o.ConfigPath, err)
		}
		return nil, fmt.Errorf("configuration:\n%w", err)
	}
	if o.Data != "" {
		cfg.Data = o.Data
	}
	return cfg, nil
}

// consoleDirectory is the configured people and who the console speaks as
// (as, else the first admin). With no one configured, the operator at the
// console is a local admin, so every command can be tried.
func consoleDirectory(cps []config.Person, as string) ([]bot.Person, string) {
	people := directoryFrom(cps)
	if len(people) == 0 {
		people = append(people, bot.Person{
			Name: "admin", DisplayName: "Local admin",
			Chat:  map[string]string{bot.AdapterConsole: "admin"},
			Roles: []bot.Role{bot.RoleAdmin, bot.RoleResponder},
		})
	}
	if as == "" {
		as = defaultSpeaker(people)
	}
	return people, as
}

// newEngine makes the engine on st and clk with the configured directory
// and delivery settings.
func newEngine(cfg *config.Config, st store.Store, clk clock.Clock, people []bot.Person, mets *metrics.Metrics, logger *slog.Logger, lookup env) (*bot.Engine, error) {
	return bot.New(bot.Options{
		Store:             st,
		Clock:             clk,
		People:            people,
		PrivateRooms:      privateRooms(cfg.Rooms),
		Logger:            logger,
		Observer:          mets,
		TeamZone:          teamZone(cfg),
		Instance:          instanceName(lookup),
		SendTimeout:       cfg.Delivery.SendTimeout.Std(),
		OutboxMaxAttempts: cfg.Delivery.MaxAttempts,
		OutboxMaxAge:      cfg.Delivery.MaxAge.Std(),
		JobTimeout:        cfg.Delivery.JobTimeout.Std(),
		ShutdownTimeout:   cfg.Delivery.ShutdownTimeout.Std(),
	})
}

// addFeatures builds the outside services, registers every feature with
// them, adds the chat adapters, runs the features' start-up steps and
// builds the report sources, which hand reports to the report feature.
func (p *parts) addFeatures(ctx context.Context, cfg *config.Config, e *bot.Engine, mets *metrics.Metrics, logger *slog.Logger, retry reconnect.Backoff) error {
	svc, err := newServices(cfg, e.Clock(), logger)
	if err != nil {
		return err
	}
	if svc.forum, err = startForum(ctx, cfg, logger); err != nil {
		return err
	}
	feats, err := registerCommands(e, cfg, svc)
	if err != nil {
		return err
	}
	watchProcess(mets, e, feats, logger)
	if p.chats, err = chatAdapters(cfg, e, logger, retry); err != nil {
		return err
	}
	if err := e.LoadPeople(ctx); err != nil {
		return fmt.Errorf("load the people directory: %w", err)
	}
	if err := feats.start(ctx); err != nil {
		return err
	}
	mailRun, releaseMail, err := startEmailIntake(ctx, cfg, feats.reports, e.Clock(), logger)
	if err != nil {
		return fmt.Errorf("email: %w", err)
	}
	p.onClose(releaseMail)
	ghRun, err := startGitHubIntake(cfg, e, svc.github, feats.reports, releasePullRequests(feats.releases), logger)
	if err != nil {
		return fmt.Errorf("github: %w", err)
	}
	for _, r := range []func(context.Context) error{mailRun, ghRun} {
		if r != nil {
			p.sources = append(p.sources, r)
		}
	}
	return nil
}

// openConsole adds the console adapter speaking as as: on the terminal
// when interactive (raw mode, restored by close), else on s.In and s.Out.
func (p *parts) openConsole(e *bot.Engine, as string, fake *clock.Fake, s streams, interactive bool, files string) error {
	if _, ok := e.Directory().ByName(as); !ok {
		fmt.Fprintf(s.Err, "vigil: note: %q is not in the people directory; speaking as a stranger\n", as)
	}
	copts := console.Options{Engine: e, As: as, Fake: fake, In: s.In, Out: s.Out, FilesDir: files}
	if interactive {
		restore, t, err := openTerminal(s.InFile, s.OutFile)
		if err != nil {
			return err
		}
		p.onClose(restore)
		copts.Terminal, copts.Color = t, true
		fmt.Fprintf(t, "Vigil %s. You are @%s in the private security room. Type /sec help, or :help for the console's own commands.\r\n", version, as)
	}
	con, err := console.New(copts)
	if err != nil {
		return err
	}
	e.AddAdapter(con)
	p.console = con
	return nil
}

// listenHTTP builds the HTTP server and binds its port. It comes last in
// build: nothing after it can fail, so it needs nothing closed.
func (p *parts) listenHTTP(cfg *config.Config, e *bot.Engine, mets *metrics.Metrics, logger *slog.Logger, stderr io.Writer) error {
	srv, err := newHTTP(cfg, e, mets, logger)
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return fmt.Errorf("http.listen %s: %w", cfg.HTTP.Listen, err)
	}
	fmt.Fprintf(stderr, "vigil: HTTP on %s\n", srv.Addr())
	p.http = srv
	return nil
}

// serve runs the parts until the console's input ends, a signal arrives
// or a part fails; then it stops them all and returns every error, the
// console's and each part's.
func (p *parts) serve(ctx context.Context, stderr io.Writer) error {
	g := newRunGroup(ctx)
	if p.http != nil {
		g.Go(p.http.Serve)
	}
	if p.loop != nil {
		g.Go(p.loop)
	}
	for _, src := range p.sources {
		g.Go(src)
	}
	for _, a := range p.chats {
		g.Go(func(ctx context.Context) error {
			err := a.Run(ctx)
			// Adapters name themselves in their errors ("slack: ...");
			// add the name only where one does not.
			if err != nil && !strings.HasPrefix(err.Error(), a.Name()+":") {
				err = fmt.Errorf("%s: %w", a.Name(), err)
			}
			return err
		})
	}
	var conErr error
	if p.console != nil {
		// The console blocks reading its input; a signal must still stop
		// Vigil when the input stays open (a pipe, a service manager).
		conDone := make(chan error, 1)
		go func() { conDone <- p.console.Run(g.Context()) }()
		select {
		case conErr = <-conDone:
		case <-g.Context().Done():
		}
	} else {
		if len(p.chats) == 0 {
			fmt.Fprintf(stderr, "vigil: no chat adapter configured and no terminal: running headless (intake, scheduler, HTTP) until stopped; use --console to read commands from stdin\n")
		} else {
			fmt.Fprintf(stderr, "vigil: running; stop with Ctrl-C or SIGTERM\n")
		}
		<-g.Context().Done()
	}
	return errors.Join(conErr, g.Stop())
}

// newLogger logs at --log-level, else at log.level (file or
// VIGIL_LOG_LEVEL). Only when neither is given and the console is on a
// terminal (termConsole), where the log shares the screen with the
// conversation, is the default quieted to warnings. Headless, under a
// service manager, next to a chat adapter or with a scripted --console
// (whose output is stdout, apart from the log), info is info: start-up and
// join lines must reach the journal.
func newLogger(cfg *config.Config, o runOptions, w io.Writer, interactive, termConsole bool) *slog.Logger {
	level := cfg.Log.Level.Slog()
	switch {
	case o.LogLevel != "":
		level = config.LogLevel(o.LogLevel).Slog()
	case termConsole && !cfg.Given("log.level"):
		level = slog.LevelWarn
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format.Resolve(interactive || isTerminal(w)) == config.FormatJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// directoryFrom converts the configured people to the engine's directory.
// Everyone can be spoken as in the console by their name.
func directoryFrom(cps []config.Person) []bot.Person {
	out := make([]bot.Person, 0, len(cps))
	for _, cp := range cps {
		p := bot.Person{
			Name:        cp.Name,
			DisplayName: cp.DisplayName,
			Chat:        map[string]string{bot.AdapterConsole: cp.Name},
			GitHub:      cp.GitHub,
			Email:       cp.Email,
			Maintains:   cp.Maintains,
			Timezone:    cp.Timezone.String(),
		}
		if cp.Chat.Console != "" {
			p.Chat[bot.AdapterConsole] = cp.Chat.Console
		}
		if cp.Chat.Slack != "" {
			p.Chat[bot.AdapterSlack] = cp.Chat.Slack
		}
		if cp.Chat.Matrix != "" {
			p.Chat[bot.AdapterMatrix] = cp.Chat.Matrix
		}
		for _, r := range cp.Roles {
			p.Roles = append(p.Roles, bot.Role(r))
		}
		out = append(out, p)
	}
	return out
}

// defaultSpeaker is the first admin, else the first person.
func defaultSpeaker(people []bot.Person) string {
	for _, p := range people {
		if p.Has(bot.RoleAdmin) {
			if id := p.Chat[bot.AdapterConsole]; id != "" {
				return id
			}
			return p.Name
		}
	}
	return people[0].Name
}

func privateRooms(r config.Rooms) []bot.RoomRef {
	var out []bot.RoomRef
	for _, id := range r.Slack {
		out = append(out, bot.RoomRef{Adapter: bot.AdapterSlack, ID: id})
	}
	for _, id := range r.Matrix {
		out = append(out, bot.RoomRef{Adapter: bot.AdapterMatrix, ID: id})
	}
	return out
}

// newHTTP builds the listener with the endpoints every deployment needs
// (health, readiness, metrics); features mount the rest on the engine's mux.
func newHTTP(cfg *config.Config, e *bot.Engine, mets *metrics.Metrics, logger *slog.Logger) (*httpserver.Server, error) {
	mux := e.HTTP()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	// /readyz checks the store and every chat adapter. With ?exclude=chat
	// (the convention of Kubernetes' own /readyz) it checks the store
	// only: a load balancer in front of intake (API, webhooks) should keep
	// sending reports through a chat outage, since they are stored and
	// posted later.
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		pctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		ready := e.Ready
		if slices.Contains(r.URL.Query()["exclude"], "chat") {
			ready = func(ctx context.Context) error {
				if err := e.Store().Ping(ctx); err != nil {
					return fmt.Errorf("store: %w", err)
				}
				return nil
			}
		}
		if err := ready(pctx); err != nil {
			// Say what is not ready, never why in detail (no addresses).
			msg := "not ready: store unavailable"
			if !errors.Is(err, store.ErrUnavailable) && !strings.HasPrefix(err.Error(), "store:") {
				msg = "not ready: " + err.Error()
			}
			http.Error(w, msg, http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	mets.Watch(e, logger)
	mux.Handle("GET /metrics", mets.Handler())
	var proxies []netip.Prefix
	for _, s := range cfg.HTTP.TrustedProxies {
		p, err := config.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("http.trusted_proxies: %q is not an IP prefix or address", s)
		}
		proxies = append(proxies, p)
	}
	return httpserver.New(httpserver.Options{
		Listen:       cfg.HTTP.Listen,
		ReadTimeout:  time.Duration(cfg.HTTP.ReadTimeout),
		WriteTimeout: time.Duration(cfg.HTTP.WriteTimeout),
		IdleTimeout:  time.Duration(cfg.HTTP.IdleTimeout),
		MaxBodyBytes: cfg.HTTP.MaxBodyBytes,
		Handler:      mux,
		// Every route that checks a token or a signature is limited (the
		// intake API, GitHub's webhook, Slack's endpoints, the iCal feed),
		// and so is anything unmatched; probes and scrapes are not.
		Limits: httpserver.Limits{
			RequestRate:    rate.Limit(cfg.HTTP.RateLimit.Rate.PerSecond()),
			RequestBurst:   cfg.HTTP.RateLimit.Burst,
			FailureRate:    rate.Limit(cfg.HTTP.AuthFailureLimit.Rate.PerSecond()),
			FailureBurst:   cfg.HTTP.AuthFailureLimit.Burst,
			TrustedProxies: proxies,
			Unlimited:      []string{"/healthz", "/readyz", "/metrics"},
			JSONPrefix:     "/api/",
		},
		Clock:    e.Clock(),
		Observer: mets,
		Logger:   logger,
	})
}

// openTerminal puts the terminal in raw mode for line editing and history.
func openTerminal(in, out *os.File) (func(), *term.Terminal, error) {
	old, err := term.MakeRaw(int(in.Fd()))
	if err != nil {
		return nil, nil, fmt.Errorf("terminal: %w", err)
	}
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{in, out}, "vigil> ")
	restore := func() { _ = term.Restore(int(in.Fd()), old) }
	return restore, t, nil
}

// instanceName names this replica in the scheduler lease (VIGIL_INSTANCE,
// else host name and process id), so operators can see who leads.
func instanceName(lookup env) string {
	if v, ok := lookup("VIGIL_INSTANCE"); ok && v != "" {
		return v
	}
	host, err := os.Hostname()
	if err != nil {
		host = "vigil"
	}
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}
