"""`feblam simulate`: a synthetic Belgian ANPR network, seeded and reproducible.

Generation is kept apart from output: ``Simulation`` builds the network, the
fleet, the reference lists and the traffic, and exposes each as a generator of
records (``cameras()``, ``reference()``, ``reads()``); ``run`` drives them into
a sink (``writer.FileSink`` for the files of the embedded mode).

Modules, one job each: ``seeding`` (deterministic randomness), ``geography``
(towns, motorways, LEZs), ``network`` (cameras and routes), ``plates``
(formats per country), ``ocr`` (camera noise), ``fleet`` (vehicles and their
roles), ``records`` (what an update looks like), ``background`` and ``lists``
(reference lists and their updates),
``rhythm`` (daily traffic), ``invalid`` (reads for the dead letters),
``traffic`` (reads over time), ``writer`` and ``progress``.
"""

from feblam.simulate.simulation import Simulation, SimulationSettings, run

__all__ = ["Simulation", "SimulationSettings", "run"]
