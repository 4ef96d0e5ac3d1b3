"""``cevns-jax posterior``: NUTS posterior and credible limits of neutrino magnetic moments
(:mod:`cevns_jax.inference.bayes`) for catalogue experiments or configuration files, compared
with the frequentist limits of the same chi^2; the output folder is checked before sampling."""

from __future__ import annotations

import os
import warnings

from .common import UserError, add_parser, experiment_config, prepare_output, split_list

def _parse_floats(text, n, what):
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise UserError(f"{what} must be comma-separated numbers, got {text!r}") from None
    if len(values) != n:
        raise UserError(f"{what} needs {n} values, got {len(values)} in {text!r}")
    return values


def run(args) -> int:
    """Sample, print the comparison table and diagnostics, write the result folder.
    Exit status 0 when the diagnostics pass, 2 otherwise."""
    import jax

    from ..inference import bayes as B
    from ..plots.posterior import corner_plot

    specs = split_list(args.experiments)
    if not specs:
        raise UserError("no experiment given (NAME:SETUP or a .toml/.json configuration file)")
    experiments = [experiment_config(spec) for spec in specs]
    if args.output:
        prepare_output(args.output)
    inject = None
    names = B.TMM_MODULI if args.model == "tmm" else B.FLAVOUR_MODULI
    if args.inject:
        inject = dict(zip(names, _parse_floats(args.inject, 3, "--inject")))
        if args.model == "tmm" and args.inject_phases:
            inject.update(zip(("xi1", "xi3"), _parse_floats(args.inject_phases, 2,
                                                               "--inject-phases")))
    prior = B.Prior(moduli=args.prior, upper=args.upper, lower_cutoff=args.lower_cutoff)
    problem = B.build_problem(experiments, args.model, prior, statistic=args.statistic,
                              data=args.data, inject=inject, sample_delta_cp=args.delta_cp)
    print(f"posterior: {problem.label}, {args.model} model, prior {prior.moduli} on "
          f"[{problem.prior.lower:g}, {problem.prior.upper:.4g}] x 1e-10 mu_B")
    with warnings.catch_warnings():
        warnings.simplefilter("always", B.ConvergenceWarning)
        result = B.sample_posterior(problem, jax.random.key(args.seed),
                                    num_samples=args.samples,
                                    num_warmup=args.warmup or args.samples,
                                    num_chains=args.chains, target_accept=args.target_accept)
    frequentist = {"single": problem.single_limits}
    if args.profiled:
        frequentist["profiled"] = B.frequentist_limits(problem, mode="profiled")
    print(B.format_comparison(B.compare_limits(result, frequentist)))
    d = result.diagnostics
    print(f"\nmax R-hat {d['max_r_hat']:.4f}, min ESS {d['min_ess']:.0f}, "
          f"min ESS/s {d['min_ess_per_s']:.1f}, divergences {d['divergences']}, "
          f"warmup {result.timing['warmup_s']:.1f} s, sampling {result.timing['sampling_s']:.1f} s"
          f" ({jax.default_backend()}, {os.cpu_count()} cores)")
    print("converged" if result.converged else "NOT CONVERGED: " + "; ".join(result.problems))
    if args.output:
        figures = {}
        if not args.no_plot:
            figures["corner.png"] = corner_plot(result, frequentist=frequentist,
                                                truth=problem.truth)
        paths = B.save_result(result, args.output, frequentist=frequentist, figures=figures)
        print("wrote " + ", ".join(str(p) for p in paths))
    return 0 if result.converged else 2


def register(sub) -> None:
    from ..inference.bayes import MODELS, PRIOR_KINDS, STATISTICS

    p = add_parser(
        sub, "posterior", help="NUTS posterior and credible limits of neutrino magnetic moments",
        description="Bayesian posterior (numpyro NUTS) for catalogue experiments, "
                    "configuration files or combinations; see docs/bayes.md. Exit status 2 "
                    "when diagnostics fail.")
    p.add_argument("--experiments", nargs="+", required=True, metavar="EXPERIMENT",
                   help="one or more experiments, NAME:SETUP (e.g. COHERENT-CsI:current "
                        "CONUS:future) or .toml/.json configuration files")
    p.add_argument("--model", choices=MODELS, default="tmm",
                   help="transition moments (tmm) or flavour moments")
    p.add_argument("--prior", choices=PRIOR_KINDS, default="flat", help="prior on the moduli")
    p.add_argument("--upper", type=float, default=None,
                   help="prior upper bound of the moduli [1e-10 mu_B] (default: automatic)")
    p.add_argument("--lower-cutoff", type=float, default=1e-3,
                   help="log-flat lower cutoff [1e-10 mu_B]")
    p.add_argument("--statistic", choices=STATISTICS, default=None,
                   help="default: Eq. 34 for COHERENT-CsI:current, Eq. 35 otherwise")
    p.add_argument("--data", choices=("asimov", "measured"), default=None,
                   help="default: measured for Eq. 34, Asimov otherwise")
    p.add_argument("--inject", metavar="M1,M2,M3", help="Asimov truth of the three moduli")
    p.add_argument("--inject-phases", metavar="XI1,XI3", help="Asimov truth of the TMM phases")
    p.add_argument("--delta-cp", action="store_true", help="sample delta_CP (TMM)")
    p.add_argument("--samples", type=int, default=1000, help="draws per chain")
    p.add_argument("--warmup", type=int, default=None, help="default: --samples")
    p.add_argument("--chains", type=int, default=4, help="vectorised chains")
    p.add_argument("--target-accept", type=float, default=0.95,
                   help="NUTS target acceptance probability")
    p.add_argument("--seed", type=int, default=0, help="PRNG seed")
    p.add_argument("--profiled", action="store_true",
                   help="also compute profiled frequentist limits (slower)")
    p.add_argument("--output", metavar="DIR", help="write samples, diagnostics and corner.png")
    p.add_argument("--no-plot", action="store_true", help="do not draw corner.png")
    p.set_defaults(func=run)
