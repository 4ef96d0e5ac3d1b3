"""Physical constants used throughout cevns_jax.

Internal unit conventions (shared by the JAX engine and the NumPy reference):
energies in MeV, lengths in cm, cross sections in cm^2/MeV, magnetic moments in
units of 1e-10 Bohr magnetons. Values: CODATA 2018 / PDG 2018 (the paper-000 era,
M. Tanabashi et al., Phys. Rev. D98 (2018) 030001).
"""

#: Fermi constant G_F [MeV^-2] (PDG 2018: 1.1663787e-5 GeV^-2).
G_FERMI = 1.1663787e-11
#: hbar*c [MeV fm] (CODATA 2018, exact-derived).
HBARC_MEV_FM = 197.3269804
#: (hbar*c)^2 [MeV^2 cm^2]: converts natural-unit MeV^-2 into cm^2.
HBARC2_MEV2_CM2 = (HBARC_MEV_FM * 1e-13) ** 2
#: Fine-structure constant at q^2 = 0 (CODATA 2018).
ALPHA_EM = 1.0 / 137.035999084
#: Electron mass [MeV] (CODATA 2018).
M_ELECTRON = 0.51099895000
#: Muon mass [MeV] (PDG 2018).
M_MUON = 105.6583745
#: Charged-pion mass [MeV] (PDG 2018).
M_PION = 139.57061
#: Atomic mass unit [MeV] (CODATA 2018).
AMU_MEV = 931.49410242
#: Avogadro constant [mol^-1] (exact, SI 2019).
AVOGADRO = 6.02214076e23
#: Seconds per day and per Julian year.
SECONDS_PER_DAY = 86400.0
SECONDS_PER_YEAR = 365.25 * SECONDS_PER_DAY
#: One magnetic-moment unit of the library: 1e-10 Bohr magnetons.
MOMENT_UNIT_MU_B = 1e-10
#: MeV per joule: converts reactor thermal power into MeV/s.
MEV_PER_JOULE = 1.0 / 1.602176634e-13

#: Weak mixing angle, MS-bar at the Z pole, used by paper 000 (Sect. 3, below Eq. 21).
SIN2_THETA_W_PAPER000 = 0.23120
#: Low-energy MS-bar weak mixing angle used by paper 004 (below Eq. 3).
SIN2_THETA_W_PAPER004 = 0.23863

#: Radiative corrections to the NC quark couplings, paper 000 below Eq. (22) (from PDG 2018).
RHO_NC_NU_N = 1.0082
KAPPA_NC_NU_N = 0.9972
LAMBDA_U_L = -0.0031
LAMBDA_D_L = -0.0025
LAMBDA_D_R = 3.7e-5
LAMBDA_U_R = LAMBDA_D_R / 2.0

#: Prompt pi-DAR nu_mu energy (m_pi^2 - m_mu^2) / (2 m_pi) [MeV] (paper 000 Eq. 28).
E_NU_PROMPT = (M_PION**2 - M_MUON**2) / (2.0 * M_PION)
