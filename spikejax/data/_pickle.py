"""Reading pickles from dataset files without running code: only NumPy arrays may be rebuilt.

A pickle names the callables that rebuild its objects, and ``pickle.load`` calls whatever it names
(``os.system`` included). Datasets that ship pickles (CIFAR-10's batches, Bullying10K's object
arrays) are read with `ArrayUnpickler`, which admits only the globals NumPy needs to rebuild
arrays and dtypes and refuses every other name before anything is called.
"""

from __future__ import annotations

import pickle
from typing import IO, Any

__all__ = ["ALLOWED_GLOBALS", "ArrayUnpickler", "load_restricted"]

#: ``(module, name)`` pairs a dataset pickle may name: NumPy's array reconstruction under its
#: NumPy 1 and NumPy 2 module names (``_frombuffer`` for pickle protocol 5, which rebuilds an
#: array from a bytes buffer and a dtype), the array and dtype classes, and the codec function
#: that pickles written by Python 3 at protocol 2 use to rebuild bytes.
ALLOWED_GLOBALS = frozenset(
    {
        ("_codecs", "encode"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }
)


class ArrayUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds plain containers and NumPy arrays only.

    Any other global named by the pickle raises ``pickle.UnpicklingError`` naming it, before
    it is imported or called.
    """

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")
        return super().find_class(module, name)


def load_restricted(file: IO[bytes], *, encoding: str = "ASCII") -> Any:
    """Unpickle one object from ``file`` with `ArrayUnpickler`.

    Raises:
        pickle.UnpicklingError: the pickle names a global other than `ALLOWED_GLOBALS`
            or is damaged; ``EOFError`` when it is cut short.
    """
    return ArrayUnpickler(file, encoding=encoding).load()
