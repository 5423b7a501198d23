"""Datasets and batching: offline digits, simulated event digits, local event and image datasets
(CIFAR-10, ImageNet-style class folders), a loader.

Needs the ``data`` extra (scikit-learn, tonic, h5py) for the datasets; the optional packages are
imported only when a dataset is used. Nothing here downloads: the event datasets read a local copy
(in tonic's layout, or the authors' for ES-ImageNet and Bullying10K) and raise
``FileNotFoundError`` naming the path they expected and the archive to fetch.
"""

from spikejax.data._base import AbstractEventDataset as AbstractEventDataset
from spikejax.data._events import EVENT_DTYPE as EVENT_DTYPE
from spikejax.data._events import check_events as check_events
from spikejax.data.aedat4 import AEDAT4_DTYPE as AEDAT4_DTYPE
from spikejax.data.aedat4 import read_aedat4 as read_aedat4
from spikejax.data.bullying10k import BULLYING10K_PACKET_DTYPE as BULLYING10K_PACKET_DTYPE
from spikejax.data.bullying10k import Bullying10K as Bullying10K
from spikejax.data.cifar10 import CIFAR10_MEAN as CIFAR10_MEAN
from spikejax.data.cifar10 import CIFAR10_STD as CIFAR10_STD
from spikejax.data.cifar10 import load_cifar10 as load_cifar10
from spikejax.data.cifar10_dvs import CIFAR10DVS as CIFAR10DVS
from spikejax.data.collate import pad_batch as pad_batch
from spikejax.data.collate import pad_time_major as pad_time_major
from spikejax.data.digits import DIGITS_NUM_SAMPLES as DIGITS_NUM_SAMPLES
from spikejax.data.digits import DIGITS_SPLIT_SEED as DIGITS_SPLIT_SEED
from spikejax.data.digits import DIGITS_TEST_FRACTION as DIGITS_TEST_FRACTION
from spikejax.data.digits import digits_split as digits_split
from spikejax.data.digits import load_digits as load_digits
from spikejax.data.dvs import simulate_dvs as simulate_dvs
from spikejax.data.dvs_gesture import DVSGesture as DVSGesture
from spikejax.data.es_imagenet import ESImageNet as ESImageNet
from spikejax.data.event_digits import EventDigits as EventDigits
from spikejax.data.event_digits import saccade_events as saccade_events
from spikejax.data.frames import ToFrames as ToFrames
from spikejax.data.image_folder import IMAGENET_MEAN as IMAGENET_MEAN
from spikejax.data.image_folder import IMAGENET_STD as IMAGENET_STD
from spikejax.data.image_folder import ImageFolder as ImageFolder
from spikejax.data.loader import Batch as Batch
from spikejax.data.loader import Loader as Loader
from spikejax.data.nmnist import NMNIST as NMNIST
from spikejax.data.shd import SHD as SHD

__all__ = [
    "AEDAT4_DTYPE",
    "BULLYING10K_PACKET_DTYPE",
    "Bullying10K",
    "CIFAR10DVS",
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "DIGITS_NUM_SAMPLES",
    "DIGITS_SPLIT_SEED",
    "DIGITS_TEST_FRACTION",
    "DVSGesture",
    "ESImageNet",
    "EVENT_DTYPE",
    "NMNIST",
    "SHD",
    "AbstractEventDataset",
    "Batch",
    "EventDigits",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ImageFolder",
    "Loader",
    "ToFrames",
    "check_events",
    "digits_split",
    "load_cifar10",
    "load_digits",
    "pad_batch",
    "pad_time_major",
    "read_aedat4",
    "saccade_events",
    "simulate_dvs",
]
