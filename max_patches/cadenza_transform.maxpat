{
    "patcher": {
        "fileversion": 1,
        "appversion": {
            "major": 8,
            "minor": 5,
            "revision": 5,
            "architecture": "x64",
            "modernui": 1
        },
        "classnamespace": "box",
        "rect": [
            40.0,
            60.0,
            900.0,
            560.0
        ],
        "bglocked": 0,
        "openinpresentation": 1,
        "default_fontsize": 12.0,
        "default_fontface": 0,
        "default_fontname": "Arial",
        "gridonopen": 1,
        "gridsize": [
            15.0,
            15.0
        ],
        "gridsnaponopen": 1,
        "objectsnaponopen": 1,
        "statusbarvisible": 2,
        "toolbarvisible": 1,
        "lefttoolbarpinned": 0,
        "toptoolbarpinned": 0,
        "righttoolbarpinned": 0,
        "bottomtoolbarpinned": 0,
        "toolbars_unpinned_last_save": 0,
        "tallnewobj": 0,
        "boxanimatetime": 200,
        "enablehscroll": 1,
        "enablevscroll": 1,
        "devicewidth": 262,
        "description": "",
        "digest": "",
        "tags": "",
        "style": "",
        "subpatcher_template": "",
        "assistshowspatchername": 0,
        "boxes": [
            {
                "box": {
                    "id": "obj-1",
                    "maxclass": "newobj",
                    "numinlets": 1,
                    "numoutlets": 3,
                    "patching_rect": [
                        20,
                        20,
                        110,
                        22
                    ],
                    "outlettype": [
                        "",
                        "",
                        ""
                    ],
                    "text": "live.miditool.in"
                }
            },
            {
                "box": {
                    "id": "obj-2",
                    "maxclass": "newobj",
                    "numinlets": 1,
                    "numoutlets": 0,
                    "patching_rect": [
                        20,
                        400,
                        110,
                        22
                    ],
                    "outlettype": [],
                    "text": "live.miditool.out"
                }
            },
            {
                "box": {
                    "id": "obj-3",
                    "maxclass": "newobj",
                    "numinlets": 1,
                    "numoutlets": 1,
                    "patching_rect": [
                        20,
                        60,
                        90,
                        22
                    ],
                    "outlettype": [
                        ""
                    ],
                    "text": "prepend notes"
                }
            },
            {
                "box": {
                    "id": "obj-4",
                    "maxclass": "newobj",
                    "numinlets": 1,
                    "numoutlets": 1,
                    "patching_rect": [
                        120,
                        60,
                        100,
                        22
                    ],
                    "outlettype": [
                        ""
                    ],
                    "text": "prepend context"
                }
            },
            {
                "box": {
                    "id": "obj-5",
                    "maxclass": "newobj",
                    "numinlets": 1,
                    "numoutlets": 4,
                    "patching_rect": [
                        300,
                        300,
                        190,
                        22
                    ],
                    "outlettype": [
                        "",
                        "",
                        "",
                        ""
                    ],
                    "text": "js cadenza_miditool.js transform"
                }
            },
            {
                "box": {
                    "id": "obj-6",
                    "maxclass": "newobj",
                    "numinlets": 1,
                    "numoutlets": 0,
                    "patching_rect": [
                        300,
                        360,
                        160,
                        22
                    ],
                    "outlettype": [],
                    "text": "udpsend 127.0.0.1 9000"
                }
            },
            {
                "box": {
                    "id": "obj-7",
                    "maxclass": "newobj",
                    "numinlets": 1,
                    "numoutlets": 1,
                    "patching_rect": [
                        700,
                        250,
                        120,
                        22
                    ],
                    "outlettype": [
                        ""
                    ],
                    "text": "udpreceive 9126"
                }
            },
            {
                "box": {
                    "id": "obj-8",
                    "maxclass": "newobj",
                    "numinlets": 1,
                    "numoutlets": 3,
                    "patching_rect": [
                        300,
                        20,
                        100,
                        22
                    ],
                    "outlettype": [
                        "",
                        "",
                        ""
                    ],
                    "text": "live.thisdevice"
                }
            },
            {
                "box": {
                    "id": "obj-9",
                    "maxclass": "message",
                    "numinlets": 2,
                    "numoutlets": 1,
                    "patching_rect": [
                        300,
                        50,
                        40,
                        22
                    ],
                    "text": "init",
                    "outlettype": [
                        ""
                    ]
                }
            },
            {
                "box": {
                    "id": "obj-10",
                    "maxclass": "newobj",
                    "numinlets": 2,
                    "numoutlets": 1,
                    "patching_rect": [
                        420,
                        50,
                        70,
                        22
                    ],
                    "outlettype": [
                        ""
                    ],
                    "text": "metro 250"
                }
            },
            {
                "box": {
                    "id": "obj-11",
                    "maxclass": "message",
                    "numinlets": 2,
                    "numoutlets": 1,
                    "patching_rect": [
                        420,
                        80,
                        40,
                        22
                    ],
                    "text": "tick",
                    "outlettype": [
                        ""
                    ]
                }
            },
            {
                "box": {
                    "id": "obj-12",
                    "maxclass": "comment",
                    "numinlets": 1,
                    "numoutlets": 0,
                    "patching_rect": [
                        140,
                        20,
                        150,
                        20
                    ],
                    "presentation": 1,
                    "presentation_rect": [
                        6,
                        2,
                        150,
                        18
                    ],
                    "text": "Cadenza Transform",
                    "fontsize": 13
                }
            },
            {
                "box": {
                    "id": "obj-13",
                    "maxclass": "live.tab",
                    "numinlets": 1,
                    "numoutlets": 3,
                    "patching_rect": [
                        20,
                        220,
                        250,
                        20
                    ],
                    "presentation": 1,
                    "presentation_rect": [
                        6,
                        22,
                        250,
                        18
                    ],
                    "outlettype": [
                        "",
                        "",
                        ""
                    ],
                    "varname": "mode",
                    "saved_attribute_attributes": {
                        "valueof": {
                            "parameter_longname": "Mode",
                            "parameter_shortname": "Mode",
                            "parameter_type": 2,
                            "parameter_enum": [
                                "infill",
                                "groove",
                                "humanize",
                                "drumify",
                                "harmonize"
                            ],
                            "parameter_initial": [
                                0
                            ]
                        }
                    }
                }
            },
            {
                "box": {
                    "id": "obj-14",
                    "maxclass": "newobj",
                    "numinlets": 1,
                    "numoutlets": 1,
                    "patching_rect": [
                        20,
                        250,
                        90,
                        22
                    ],
                    "outlettype": [
                        ""
                    ],
                    "text": "prepend mode"
                }
            },
            {
                "box": {
                    "id": "obj-15",
                    "maxclass": "live.menu",
                    "numinlets": 1,
                    "numoutlets": 3,
                    "patching_rect": [
                        20,
                        120,
                        100,
                        15
                    ],
                    "presentation": 1,
                    "presentation_rect": [
                        6,
                        46,
                        110,
                        15
                    ],
                    "outlettype": [
                        "",
                        "",
                        ""
                    ],
                    "varname": "model",
                    "saved_attribute_attributes": {
                        "valueof": {
                            "parameter_longname": "Model",
                            "parameter_shortname": "Model",
                            "parameter_type": 2,
                            "parameter_enum": [
                                "default",
                                "chorale-infill",
                                "piano-infill",
                                "melody",
                                "chorale-harmony"
                            ],
                            "parameter_initial": [
                                0
                            ]
                        }
                    }
                }
            },
            {
                "box": {
                    "id": "obj-16",
                    "maxclass": "newobj",
                    "numinlets": 1,
                    "numoutlets": 1,
                    "patching_rect": [
                        20,
                        150,
                        90,
                        22
                    ],
                    "outlettype": [
                        ""
                    ],
                    "text": "prepend model"
                }
            },
            {
                "box": {
                    "id": "obj-17",
                    "maxclass": "live.dial",
                    "numinlets": 1,
                    "numoutlets": 2,
                    "patching_rect": [
                        140,
                        110,
                        44,
                        48
                    ],
                    "presentation": 1,
                    "presentation_rect": [
                        122,
                        42,
                        40,
                        44
                    ],
                    "outlettype": [
                        "int/float",
                        "int/float"
                    ],
                    "varname": "temperature",
                    "saved_attribute_attributes": {
                        "valueof": {
                            "parameter_longname": "Temperature",
                            "parameter_shortname": "Temp",
                            "parameter_type": 0,
                            "parameter_mmin": 0.1,
                            "parameter_mmax": 2.0,
                            "parameter_initial": [
                                1.0
                            ]
                        }
                    }
                }
            },
            {
                "box": {
                    "id": "obj-18",
                    "maxclass": "newobj",
                    "numinlets": 1,
                    "numoutlets": 1,
                    "patching_rect": [
                        140,
                        190,
                        120,
                        22
                    ],
                    "outlettype": [
                        ""
                    ],
                    "text": "prepend temperature"
                }
            },
            {
                "box": {
                    "id": "obj-19",
                    "maxclass": "live.numbox",
                    "numinlets": 1,
                    "numoutlets": 2,
                    "patching_rect": [
                        300,
                        120,
                        40,
                        15
                    ],
                    "presentation": 1,
                    "presentation_rect": [
                        170,
                        46,
                        40,
                        15
                    ],
                    "outlettype": [
                        "int/float",
                        "int/float"
                    ],
                    "varname": "seed",
                    "saved_attribute_attributes": {
                        "valueof": {
                            "parameter_longname": "Seed",
                            "parameter_shortname": "Seed",
                            "parameter_type": 1,
                            "parameter_mmin": -1,
                            "parameter_mmax": 99999,
                            "parameter_initial": [
                                -1
                            ]
                        }
                    }
                }
            },
            {
                "box": {
                    "id": "obj-20",
                    "maxclass": "newobj",
                    "numinlets": 1,
                    "numoutlets": 1,
                    "patching_rect": [
                        300,
                        150,
                        90,
                        22
                    ],
                    "outlettype": [
                        ""
                    ],
                    "text": "prepend seed"
                }
            },
            {
                "box": {
                    "id": "obj-21",
                    "maxclass": "comment",
                    "numinlets": 1,
                    "numoutlets": 0,
                    "patching_rect": [
                        345,
                        118,
                        50,
                        20
                    ],
                    "presentation": 1,
                    "presentation_rect": [
                        212,
                        44,
                        50,
                        18
                    ],
                    "text": "seed"
                }
            },
            {
                "box": {
                    "id": "obj-22",
                    "maxclass": "message",
                    "numinlets": 2,
                    "numoutlets": 1,
                    "patching_rect": [
                        300,
                        440,
                        400,
                        22
                    ],
                    "presentation": 1,
                    "presentation_rect": [
                        6,
                        90,
                        250,
                        20
                    ],
                    "text": "start `cadenza serve`, then Apply",
                    "outlettype": [
                        ""
                    ],
                    "varname": "status"
                }
            }
        ],
        "lines": [
            {
                "patchline": {
                    "source": [
                        "obj-1",
                        0
                    ],
                    "destination": [
                        "obj-3",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-1",
                        1
                    ],
                    "destination": [
                        "obj-4",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-3",
                        0
                    ],
                    "destination": [
                        "obj-5",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-4",
                        0
                    ],
                    "destination": [
                        "obj-5",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-5",
                        0
                    ],
                    "destination": [
                        "obj-6",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-5",
                        1
                    ],
                    "destination": [
                        "obj-2",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-5",
                        3
                    ],
                    "destination": [
                        "obj-1",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-7",
                        0
                    ],
                    "destination": [
                        "obj-5",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-8",
                        0
                    ],
                    "destination": [
                        "obj-9",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-9",
                        0
                    ],
                    "destination": [
                        "obj-5",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-8",
                        0
                    ],
                    "destination": [
                        "obj-10",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-10",
                        0
                    ],
                    "destination": [
                        "obj-11",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-11",
                        0
                    ],
                    "destination": [
                        "obj-5",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-13",
                        0
                    ],
                    "destination": [
                        "obj-14",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-14",
                        0
                    ],
                    "destination": [
                        "obj-5",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-15",
                        1
                    ],
                    "destination": [
                        "obj-16",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-16",
                        0
                    ],
                    "destination": [
                        "obj-5",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-17",
                        0
                    ],
                    "destination": [
                        "obj-18",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-18",
                        0
                    ],
                    "destination": [
                        "obj-5",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-19",
                        0
                    ],
                    "destination": [
                        "obj-20",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-20",
                        0
                    ],
                    "destination": [
                        "obj-5",
                        0
                    ],
                    "order": 0
                }
            },
            {
                "patchline": {
                    "source": [
                        "obj-5",
                        2
                    ],
                    "destination": [
                        "obj-22",
                        0
                    ],
                    "order": 0
                }
            }
        ],
        "dependency_cache": [],
        "autosave": 0
    }
}
