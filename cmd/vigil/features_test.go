package main

import (
	"github.com/vigil-sec/vigil/bot"
	"github.com/vigil-sec/vigil/commands/advisory"
	"github.com/vigil-sec/vigil/commands/core"
	"github.com/vigil-sec/vigil/commands/cvss"
	"github.com/vigil-sec/vigil/commands/duty"
	"github.com/vigil-sec/vigil/commands/incident"
	"github.com/vigil-sec/vigil/commands/release"
	"github.com/vigil-sec/vigil/commands/remind"
	"github.com/vigil-sec/vigil/commands/report"
	"github.com/vigil-sec/vigil/commands/stats"
)

// Each feature declares the part of the engine it uses (its Engine
// interface); the one engine there is must provide every such part.
var (
	_ core.Engine     = (*bot.Engine)(nil)
	_ duty.Engine     = (*bot.Engine)(nil)
	_ report.Engine   = (*bot.Engine)(nil)
	_ cvss.Engine     = (*bot.Engine)(nil)
	_ remind.Engine   = (*bot.Engine)(nil)
	_ advisory.Engine = (*bot.Engine)(nil)
	_ incident.Engine = (*bot.Engine)(nil)
	_ release.Engine  = (*bot.Engine)(nil)
	_ stats.Engine    = (*bot.Engine)(nil)
)
