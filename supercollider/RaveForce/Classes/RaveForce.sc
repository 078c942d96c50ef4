// RaveForce: a music task defined in sclang (a pattern whose `key` values an agent chooses step
// by step), served over OSC to the Python environment `raveforce/SCLang-v0`.
// The protocol is described in ../README.md.

RaveForce {
	classvar <all, responders;
	classvar <protocolVersion = 1;
	// Requests from other hosts than this one are dropped unless this is true (sclang's UDP port
	// listens on every interface, and a step writes files and starts scsynth).
	classvar <>allowRemote = false, warnedHosts;

	var <name, <pattern, <dims, <bpm, <steps, <sampleRate, <buffers, <target, <reward, <seed;
	var <beatsPerStep, <synthNames, tempDir, episodes, renders = 0;

	*initClass { all = IdentityDictionary.new }

	// pattern: events, one per step; key: what the agent chooses (see the help file).
	*start { |pattern, key, bpm = 120, steps = 16, name = \default, sampleRate = 44100,
		buffers, target, reward, seed = 0|
		var task = super.new.init(pattern, key, bpm, steps, name.asSymbol, sampleRate,
			buffers, target, reward, seed);
		all[task.name] !? { |old| "RaveForce: replacing the task '%'".format(name).warn; old.free };
		all[task.name] = task;
		this.prListen;
		"RaveForce: serving task '%' on UDP port % (% steps of % beats at % BPM, action space %)"
			.format(task.name, NetAddr.langPort, steps, task.beatsPerStep, bpm, task.spaceString).postln;
		^task
	}

	*stopAll { all.copy.do(_.free) }

	init { |argPattern, key, argBpm, argSteps, argName, argSampleRate, argBuffers, argTarget, argReward, argSeed|
		var events;
		if (argPattern.isKindOf(Pattern).not) {
			Error("RaveForce: pattern % is not a Pattern (e.g. Pbind(\\instrument, \\sin, \\dur, 0.25))"
				.format(argPattern)).throw
		};
		if (argSteps.isInteger.not or: { argSteps < 1 }) {
			Error("RaveForce: steps: % is not an Integer >= 1".format(argSteps)).throw
		};
		if (argBpm.isNumber.not or: { argBpm <= 0 }) {
			Error("RaveForce: bpm: % is not a number > 0".format(argBpm)).throw
		};
		if (argSampleRate.isInteger.not or: { argSampleRate < 1000 }) {
			Error("RaveForce: sampleRate: % is not an Integer >= 1000".format(argSampleRate)).throw
		};
		pattern = argPattern; bpm = argBpm; steps = argSteps; name = argName;
		sampleRate = argSampleRate; target = argTarget; reward = argReward; seed = argSeed;
		buffers = argBuffers.asArray.collect { |path|
			path = path.asString.standardizePath;
			if (File.exists(path).not) { Error("RaveForce: buffer file % does not exist".format(path)).throw };
			path
		};
		if (target.notNil) {
			target = target.asString.standardizePath;
			if (File.exists(target).not) { Error("RaveForce: target file % does not exist".format(target)).throw };
		};
		dims = this.prParseKeys(key);
		episodes = Dictionary.new;
		// Evaluate every step once now, so that a bad pattern fails here and not mid-episode.
		events = steps.collect { |k| this.eventAt(k, dims.collect { 0 }) };
		beatsPerStep = events[0].delta;
		events.do { |ev, k|
			if (ev.delta != beatsPerStep) {
				Error("RaveForce: step % lasts % beats but step 0 lasts %: every step must last the same (set \\dur)"
					.format(k, ev.delta, beatsPerStep)).throw
			}
		};
		if (beatsPerStep.isNumber.not or: { beatsPerStep <= 0 }) {
			Error("RaveForce: a step lasts % beats; set \\dur to a number > 0".format(beatsPerStep)).throw
		};
		synthNames = events.collect { |ev| ev.use { ~instrument } }.asSet.asArray.sort;
		synthNames.do { |synth|
			if (synth.isKindOf(Symbol).not) {
				Error("RaveForce: \\instrument % is not one SynthDef name".format(synth)).throw
			};
			if (SynthDescLib.global[synth].isNil) {
				Error("RaveForce: SynthDef '%' is not known: call SynthDef(...).add before RaveForce.start"
					.format(synth)).throw
			}
		};
	}

	// One action dimension per key: [key, \continuous, ControlSpec] or [key, \discrete, options].
	prParseKeys { |key|
		var parsed, keys = if (key.isKindOf(Association) or: { key.isKindOf(Symbol) }) { [key] } { key };
		if (keys.isKindOf(SequenceableCollection).not or: { keys.isEmpty }) {
			Error("RaveForce: key: % is not a Symbol, an Association or an Array of them".format(key)).throw
		};
		parsed = keys.collect { |k|
			var sym, spec;
			if (k.isKindOf(Association)) { sym = k.key; spec = k.value } { sym = k; spec = [0, 1] };
			if (sym.isKindOf(Symbol).not) {
				Error("RaveForce: key % is not a Symbol (e.g. \\freq or \\freq -> [20, 2000, \\exp])".format(sym)).throw
			};
			if (spec.isKindOf(SequenceableCollection) and: { spec.notEmpty }
				and: { spec.every { |o| o.isKindOf(SequenceableCollection) and: { o.isString.not } } }) {
				[sym, \discrete, spec]
			} {
				spec = spec.asSpec;
				if (spec.isNil) { Error("RaveForce: key %: % is not a ControlSpec, [low, high, warp] or an Array of choices"
					.format(sym, k.value)).throw };
				if ([LinearWarp, ExponentialWarp].includes(spec.warp.class).not) {
					Error("RaveForce: key %: warp % is not \\lin or \\exp".format(sym, spec.warp)).throw
				};
				if (spec.step != 0) {
					Error("RaveForce: key %: ControlSpec step % is not supported; use a list of choices".format(sym, spec.step)).throw
				};
				[sym, \continuous, spec]
			}
		};
		if (parsed.size > 1 and: { parsed.any { |d| d[1] == \discrete } }) {
			Error("RaveForce: key: % mixes a list of choices with other keys; use one key with choices, or continuous keys only"
				.format(key)).throw
		};
		^parsed
	}

	kind { ^dims[0][1] }

	spaceString {
		^if (this.kind == \discrete) { "Discrete(%)".format(dims[0][2].size) } { "Box(0, 1, (%,))".format(dims.size) }
	}

	// The value a key gets from one action dimension (a choice index, or x in [0, 1]).
	prValue { |dim, x|
		var options;
		if (dim[1] == \discrete) {
			options = dim[2];
			if (x.isNumber.not or: { x.asInteger != x } or: { x < 0 } or: { x >= options.size }) {
				Error("action % for key '%' is not an integer from 0 to %".format(x, dim[0], options.size - 1)).throw
			};
			x = options[x.asInteger];
			^if (x.isEmpty) { Rest() } { if (x.size == 1) { x[0] } { x } }
		};
		if (x.isNumber.not or: { x < 0 } or: { x > 1 }) {
			Error("action % for key '%' is not a number in [0, 1]".format(x, dim[0])).throw
		};
		^dim[2].map(x)
	}

	// The event of step k with the action's values put in (like Pbindf); actions: one per dim.
	eventAt { |k, action|
		var stream, event;
		if (action.size != dims.size) {
			Error("task '%' takes % action value(s) per step, got %".format(name, dims.size, action.size)).throw
		};
		stream = Pseed(seed, pattern).asStream;
		k.do { if (stream.next(Event.default).isNil) { event = \ended } };
		event = if (event.isNil) { stream.next(Event.default) };
		if (event.isNil) {
			Error("RaveForce: the pattern of task '%' ends before step %: it must give % events (steps)"
				.format(name, k, steps)).throw
		};
		dims.do { |dim, i| event[dim[0]] = this.prValue(dim, action[i]) };
		^event
	}

	// The synths an event starts: [[synthName, [control, value, ...]], ...] (none if it is a rest).
	*notesOf { |event|
		if (event.isRest) { ^[] };
		^event.use {
			var synth = ~instrument, args = ~getMsgFunc.valueEnvir.valueEnvir;
			args = args.collect { |x| x.value.asControlInput };
			args.flop.collect { |a| [synth, a] }
		}
	}

	notesAt { |k, action| ^this.class.notesOf(this.eventAt(k, action)) }

	stepSeconds { ^beatsPerStep * 60 / bpm }
	// The first sample of step k (rounded half up); steps = the episode's length.
	boundary { |k| ^(k * this.stepSeconds * sampleRate + 0.5).floor.asInteger }
	totalSamples { ^this.boundary(steps) }

	// What the Python side needs to build the task (sent as JSON by /raveforce/describe).
	describe {
		var zero = dims.collect { 0 }, notes, direct = true, desc;
		desc = (
			protocol: protocolVersion, name: name, kind: this.kind, keys: dims.collect(_[0]),
			steps: steps, bpm: bpm, beats_per_step: beatsPerStep, step_seconds: this.stepSeconds,
			sample_rate: sampleRate, total_samples: this.totalSamples, buffers: buffers,
			target: target, reward: reward,
			synthdefs: synthNames.collect { |s| (name: s, controls: SynthDescLib.global[s].controlNames) }
		);
		if (this.kind == \discrete) {
			notes = dims[0][2].collect { |o, i| this.notesAt(0, [i]) };
			// The Python side plays these notes at every step: true only if every step agrees.
			direct = (1..steps - 1).every { |k| dims[0][2].every { |o, i| this.notesAt(k, [i]) == notes[i] } };
			desc[\size] = dims[0][2].size;
			desc[\options] = notes;
		} {
			notes = this.notesAt(0, zero);
			desc[\controls] = dims.collect { |d|
				(key: d[0], low: d[2].minval, high: d[2].maxval, scale: if (d[2].warp.class == ExponentialWarp) { "exp" } { "lin" })
			};
			desc[\size] = dims.size;
			if (notes.size == 1) {
				desc[\synth] = notes[0][0];
				desc[\fixed] = notes[0][1].clump(2).reject { |p| desc[\keys].includes(p[0]) }.flatten;
				// Every action key must reach the synth as itself, and the rest must not change.
				direct = desc[\keys].every { |k| notes[0][1].clump(2).any { |p| p[0] == k } }
				and: { [0.5, 1].every { |x|
					var action = dims.collect { x }, mapped = dims.collect { |d| d[2].map(x) };
					(0..steps - 1).every { |k|
						var n = this.notesAt(k, action);
						n.size == 1 and: { n[0][0] == notes[0][0] } and: {
							n[0][1].clump(2).every { |p|
								var i = desc[\keys].indexOf(p[0]);
								if (i.notNil) { p[1] == mapped[i] } { desc[\fixed].clump(2).any { |q| q == p } }
							}
						}
					}
				} }
			} { direct = false }
		};
		desc[\direct] = direct;
		^desc
	}

	synthDefBytes { ^synthNames.collect { |s| SynthDescLib.global[s].def.asBytes } }

	// --- the paper's render path: sclang renders the whole prefix with Score.recordNRT ---------

	reset { |client|
		episodes[client] !? { |e| e[\last] !? { |old| File.delete(old) } };
		episodes[client] = (history: List.new, last: nil)
	}

	// Render steps 0..k of `client`'s episode; calls done.(path, frames) or failed.(message).
	step { |client, k, action, done, failed|
		var episode = episodes[client], history, score, seconds, path, osc, dir;
		if (episode.isNil) { Error("task '%': step before reset".format(name)).throw };
		history = episode[\history];
		if (k != history.size) {
			Error("task '%': step % out of order: % steps played since reset".format(name, k, history.size)).throw
		};
		if (k >= steps) { Error("task '%': the episode has % steps; reset to start a new one".format(name, steps)).throw };
		history.add(this.notesAt(k, action));
		score = this.synthDefBytes.collect { |b| [0.0, [\d_recv, b]] };
		score = score ++ buffers.collect { |p, i| [0.0, [\b_allocRead, i, p]] };
		// A quarter sample past a boundary: scsynth rounds that to the boundary's own sample.
		history.do { |notes, i|
			var time = this.boundary(i) + 0.25 / sampleRate;
			notes.do { |n| score = score.add([time, [\s_new, n[0], -1, 0, 0] ++ n[1]]) }
		};
		seconds = this.boundary(k + 1) / sampleRate;
		score = score.add([seconds, [\c_set, 0, 0]]);
		dir = this.tempDir;
		renders = renders + 1;
		path = dir +/+ "prefix-%.wav".format(renders);
		osc = dir +/+ "score-%.osc".format(renders);
		Score.recordNRT(score, osc, path, nil, sampleRate, "WAV", "float",
			ServerOptions.new.numOutputBusChannels_(1).numInputBusChannels_(0).verbosity_(-1),
			"", seconds, { |exitCode|
				File.delete(osc);
				if (exitCode == 0 and: { File.exists(path) }) {
					episode[\last] !? { |old| File.delete(old) };
					episode[\last] = path;
					done.(path, this.boundary(k + 1))
				} {
					failed.("scsynth exited with code % rendering step % of task '%'".format(exitCode, k, name))
				}
			});
	}

	// A private directory (mode 700, from mktemp) for this task's render files.
	tempDir {
		if (tempDir.isNil or: { File.exists(tempDir).not }) {
			tempDir = "mktemp -d -t raveforce-sclang-XXXXXX".unixCmdGetStdOut.stripWhiteSpace;
			if (tempDir.isEmpty or: { File.exists(tempDir).not }) {
				Error("RaveForce: could not make a temp directory with mktemp").throw
			}
		};
		^tempDir
	}

	close { |client|
		episodes.removeAt(client);
		if (episodes.isEmpty) { this.prRemoveTempDir }
	}

	prRemoveTempDir {
		if (tempDir.notNil) { ("rm -rf " ++ tempDir.shellQuote).systemCmd; tempDir = nil }
	}

	free {
		episodes.clear;
		this.prRemoveTempDir;
		if (all[name] === this) { all.removeAt(name) };
	}

	// --- OSC ---------------------------------------------------------------------------------

	*prListen {
		if (responders.notNil) { ^this };
		ShutDown.add { all.do(_.prRemoveTempDir) };
		responders = [\describe, \make, \reset, \events, \step, \close].collect { |cmd|
			OSCFunc({ |msg, time, addr| this.prHandle(cmd, msg, addr) }, "/raveforce/" ++ cmd).fix
		};
	}

	*prReply { |addr, id, args| addr.sendMsg(*(['/raveforce/ok', id] ++ args)) }

	*prError { |addr, id, text|
		"RaveForce: error replied to %:% (request %): %".format(addr.ip, addr.port, id, text).postln;
		addr.sendMsg('/raveforce/error', id, text.asString);
	}

	// Every request is [address, id (Integer), task name, args...]; the reply goes to its sender.
	*prHandle { |cmd, msg, addr|
		var id = msg[1], taskName = msg[2], task, client;
		if (allowRemote.not and: { addr.ip != "127.0.0.1" }) {
			warnedHosts = warnedHosts ?? { Set.new };
			if (warnedHosts.includes(addr.ip).not) {
				warnedHosts.add(addr.ip);
				"RaveForce: dropping requests from % (only 127.0.0.1 is served; set RaveForce.allowRemote = true to serve other hosts)"
					.format(addr.ip).postln;
			};
			^nil
		};
		if (id.isInteger.not) {
			^this.prError(addr, -1, "malformed /raveforce/% message %: the first argument must be an integer request id"
				.format(cmd, msg))
		};
		task = taskName !? { all[taskName.asSymbol] };
		if (task.isNil) {
			^this.prError(addr, id, "no task named % in this sclang; serving: %"
				.format(taskName, all.keys.asArray.sort))
		};
		client = addr.ip ++ ":" ++ addr.port;
		try {
			switch (cmd,
				\describe, { this.prReply(addr, id, [this.toJSON(task.describe)] ++ task.synthDefBytes) },
				\make, { this.prReply(addr, id, [this.toJSON(task.describe)] ++ task.synthDefBytes) },
				\reset, { task.reset(client); this.prReply(addr, id, []) },
				\events, {
					this.prCheckStep(task, msg);
					this.prReply(addr, id, [this.toJSON(task.notesAt(msg[3], msg[4..]))])
				},
				\step, {
					this.prCheckStep(task, msg);
					task.step(client, msg[3], msg[4..],
						{ |path, frames| this.prReply(addr, id, [path, frames]) },
						{ |text| this.prError(addr, id, text) })
				},
				\close, { task.close(client); this.prReply(addr, id, []) }
			)
		} { |error|
			this.prError(addr, id, error.errorString)
		}
	}

	*prCheckStep { |task, msg|
		if (msg[3].isInteger.not or: { msg[3] < 0 } or: { msg[3] >= task.steps }) {
			Error("step % is not an integer from 0 to %".format(msg[3], task.steps - 1)).throw
		}
	}

	// --- JSON (the describe and events replies) ------------------------------------------------

	*toJSON { |obj|
		^case
		{ obj.isNil } { "null" }
		{ obj == true } { "true" }
		{ obj == false } { "false" }
		{ obj.isInteger } { obj.asString }
		{ obj.isFloat } {
			if (obj.isNaN or: { obj.abs == inf }) { Error("RaveForce: % cannot be sent as JSON".format(obj)).throw };
			obj.asStringPrec(17)
		}
		{ obj.isKindOf(Symbol) or: { obj.isString } } { this.prJSONString(obj.asString) }
		{ obj.isKindOf(Dictionary) } {
			"{" ++ obj.keys.asArray.sort.collect { |k| this.prJSONString(k.asString) ++ ": " ++ this.toJSON(obj[k]) }
				.join(", ") ++ "}"
		}
		{ obj.isKindOf(SequenceableCollection) } { "[" ++ obj.collect { |x| this.toJSON(x) }.join(", ") ++ "]" }
		{ Error("RaveForce: % cannot be sent as JSON".format(obj)).throw }
	}

	*prJSONString { |string|
		var out = "\"";
		string.do { |c|
			out = out ++ case
			{ c == $" } { "\\\"" }
			{ c == $\\ } { "\\\\" }
			{ c.ascii < 32 and: { c.ascii >= 0 } } { "\\u%".format(c.ascii.asHexString(4)) }
			{ c.asString }
		};
		^out ++ "\""
	}
}
