"""Formulations: one module per physical thing.

Each module holds a frozen data class with the component's parameters (already on the time axis,
no file access) and one entry point ``define_<thing>(m, data)`` that adds a Pyomo block named after
the component. A block may declare

* ``injection_mw[t]`` — an Expression, power into the site bus (MW, + = supply to the site);
* ``cost_<term>_jpy`` — scalar Expressions, annualised cost terms (JPY/yr).

:mod:`wattbit.formulations.site` closes the model: it balances the bus and minimises the sum of every
``cost_*`` Expression. Formulations never read files, never solve and never import ``optimizer``.
"""
