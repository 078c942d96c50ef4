"""The applications built on the library: the `raveforce` command line (`main`, `cli`), the
report of a solve (`report`), the paper's figures (`figures`), reward landscapes (`landscape`),
the install check (`doctor`), loop handling (`loops`) and progress lines (`progress`).

May import anything in RaveForce; nothing in RaveForce imports it.
"""
