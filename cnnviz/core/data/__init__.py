"""Inputs and datasets: image loading and conversion, image folders, Fashion-MNIST, the bundled sample files
and the smoothing used on inputs. The bottom group of the core: it imports no other group."""
